import {
  CredentialsError,
  createTokenManager,
  InsecureTransportError,
  InvalidOptionsError,
  ManagerDisposedError,
  staticCredentials,
} from "@redis-credentials/core";
import { Cluster, Redis } from "ioredis";
import { bindCredentials, bindingOf, createCluster, createRedis } from "../../src";

// Bad input is refused before any connection is attempted: these clients never connect.
const manager = () => createTokenManager(staticCredentials({ username: "app", password: "pw" }));
const lazyClient = (options: object = {}) =>
  new Redis({ port: 1, lazyConnect: true, tls: {}, ...options });

test("a client that is not an ioredis client is refused with InvalidOptionsError", () => {
  for (const client of [undefined, null, {}, "redis://localhost"]) {
    const error = (() => {
      try {
        bindCredentials(client as never, manager());
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe("client");
  }
});

test("a manager that is not a token manager is refused with InvalidOptionsError", () => {
  expect(() => bindCredentials(lazyClient(), {} as never)).toThrow(
    expect.objectContaining({ name: "InvalidOptionsError", option: "manager" }),
  );
});

test("a disposed manager is refused with ManagerDisposedError", async () => {
  const disposed = manager();
  await disposed.dispose();
  expect(() => bindCredentials(lazyClient(), disposed)).toThrow(ManagerDisposedError);
  await expect(createRedis(disposed, { tls: {}, port: 1 })).rejects.toBeInstanceOf(
    ManagerDisposedError,
  );
});

test("a client without TLS is refused unless allowInsecureTransport is passed", async () => {
  const plain = new Redis({ host: "cache.example", port: 6380, lazyConnect: true });
  expect(() => bindCredentials(plain, manager())).toThrow(InsecureTransportError);
  expect(() => bindCredentials(plain, manager())).toThrow(
    /cache\.example:6380.*allowInsecureTransport: true/s,
  );
  const binding = bindCredentials(plain, manager(), { allowInsecureTransport: true });
  binding.dispose();
  const cluster = new Cluster([{ host: "cache.example", port: 6380 }], { lazyConnect: true });
  expect(() => bindCredentials(cluster, manager())).toThrow(InsecureTransportError);
  await expect(createRedis(manager(), { port: 1 })).rejects.toBeInstanceOf(InsecureTransportError);
  await expect(createCluster(manager(), [{ port: 1 }])).rejects.toBeInstanceOf(
    InsecureTransportError,
  );
});

test("through sentinel, tls without enableTLSForSentinelMode is plain TCP to the nodes, and refused", () => {
  // ioredis applies `tls` to the master/replica connection only with enableTLSForSentinelMode.
  const sentinels = [{ host: "sentinel.example", port: 26379 }];
  const plain = new Redis({ sentinels, name: "mymaster", tls: {}, lazyConnect: true });
  expect(() => bindCredentials(plain, manager())).toThrow(InsecureTransportError);
  expect(() => bindCredentials(plain, manager())).toThrow(/enableTLSForSentinelMode/);
  const secure = new Redis({
    sentinels,
    name: "mymaster",
    tls: {},
    enableTLSForSentinelMode: true,
    lazyConnect: true,
  });
  bindCredentials(secure, manager()).dispose();
});

test("InsecureTransportError is a CredentialsError and shows no secret", () => {
  const plain = new Redis({ port: 1, lazyConnect: true, password: "secret-token" });
  try {
    bindCredentials(plain, manager());
    throw new Error("bindCredentials accepted a plain-TCP client");
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialsError);
    expect(String((error as Error).message)).not.toContain("secret-token");
  }
});

test("a client bound once cannot be bound again until that binding is disposed", () => {
  const client = lazyClient();
  const first = bindCredentials(client, manager());
  expect(() => bindCredentials(client, manager())).toThrow(
    expect.objectContaining({ name: "InvalidOptionsError", option: "client" }),
  );
  first.dispose();
  bindCredentials(client, manager()).dispose();
});

test("binding puts the manager's credentials into the options; dispose takes every hook back", async () => {
  const held = manager();
  await held.getCredentials();
  const client = lazyClient();
  const strategy = client.options.retryStrategy;
  const binding = bindCredentials(client, held);
  expect(client.options.username).toBe("app");
  expect(client.options.password).toBe("pw");
  expect(Object.keys(client)).toEqual(expect.arrayContaining(["duplicate", "multi", "exec"]));
  expect(binding.status()).toEqual({ connections: 0, reauthFailures: 0, iamRetries: 0 });
  binding.dispose();
  binding.dispose();
  for (const name of ["duplicate", "multi", "exec", "discard"]) {
    expect(Object.hasOwn(client, name)).toBe(false);
  }
  expect(client.options.retryStrategy).toBe(strategy);
  expect(client.listenerCount("ready") + client.listenerCount("end")).toBe(0);
});

test("duplicate() of a bound client is bound: it cannot be bound again", async () => {
  const held = manager();
  await held.getCredentials();
  const client = lazyClient();
  bindCredentials(client, held);
  const copy = client.duplicate();
  expect(copy.options.password).toBe("pw");
  expect(() => bindCredentials(copy, held)).toThrow(InvalidOptionsError);
});

describe("createRedis and createCluster refuse bad input up front, naming the option", () => {
  const refusal = async (attempt: () => Promise<unknown>) =>
    attempt().then(
      () => undefined,
      (error: unknown) => error,
    );

  test.each([
    ["no manager", undefined],
    ["a plain object", {}],
    ["a string", "manager"],
  ])("%s as manager: InvalidOptionsError for `manager`", async (_label, bad) => {
    for (const attempt of [
      () => createRedis(bad as never, { tls: {} }),
      () => createCluster(bad as never, [{ host: "localhost", port: 1 }]),
    ]) {
      const error = await refusal(attempt);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).option).toBe("manager");
    }
  });

  test("username or password in the options: InvalidOptionsError, since the manager supplies them", async () => {
    const live = manager();
    for (const [attempt, option] of [
      [() => createRedis(live, { username: "app", tls: {} }), "options"],
      [() => createRedis(live, { password: "secret-pw", tls: {} }), "options"],
      [
        () =>
          createCluster(live, [{ host: "localhost", port: 1 }], {
            redisOptions: { password: "secret-pw", tls: {} },
          }),
        "options.redisOptions",
      ],
    ] as const) {
      const error = await refusal(attempt);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).option).toBe(option);
      expect((error as Error).message).not.toContain("secret-pw");
    }
    // Nothing was fetched for a refused call.
    expect(live.status().counters.fetches).toBe(0);
  });
});

describe("bindingOf", () => {
  test("gives the binding of a bound client and of its duplicates; nothing once disposed", () => {
    const redis = lazyClient();
    expect(bindingOf(redis)).toBeUndefined();
    const binding = bindCredentials(redis, manager());
    expect(bindingOf(redis)).toBe(binding);
    const copy = redis.duplicate();
    expect(bindingOf(copy)).toBe(binding);
    expect(bindingOf(redis)?.status()).toEqual({
      connections: 0,
      reauthFailures: 0,
      iamRetries: 0,
    });
    binding.dispose();
    expect(bindingOf(redis)).toBeUndefined();
    expect(bindingOf(copy)).toBeUndefined();
    copy.disconnect();
    redis.disconnect();
  });
});
