import {
  CredentialsError,
  createTokenManager,
  InsecureTransportError,
  InvalidOptionsError,
  ManagerDisposedError,
  staticCredentials,
} from "@redis-credentials/core";
import * as redis from "redis";
import {
  bindingOf,
  createClient,
  createClientPool,
  createCluster,
  createSentinel,
  credentialsProvider,
} from "../../src";
import { PROBE_MARKER } from "../../src/node-redis-internals";

// Input checks that need no server: each bad input gets a typed error that says what to do.

const manager = createTokenManager(
  staticCredentials({ username: "user", password: "not-a-real-token" }),
);
afterAll(() => manager.dispose());

const tls = { socket: { host: "127.0.0.1", port: 6380, tls: true as const } };

test("credentialsProvider refuses what is not a token manager", () => {
  expect(() => credentialsProvider({} as never)).toThrow(InvalidOptionsError);
  expect(() => credentialsProvider(undefined as never)).toThrow(/createTokenManager/);
});

test("credentialsProvider refuses a disposed manager", async () => {
  const disposed = createTokenManager(staticCredentials({ username: "u", password: "p" }));
  await disposed.dispose();
  expect(() => credentialsProvider(disposed)).toThrow(ManagerDisposedError);
});

test("a provider is node-redis's streaming kind and starts with no connection", () => {
  const provider = credentialsProvider(manager);
  expect(provider.type).toBe("streaming-credentials-provider");
  expect(provider.status()).toEqual({
    connections: 0,
    unidentified: 0,
    reauthFailures: 0,
    iamRetries: 0,
  });
});

test("onReAuthenticationError: the user's handler, never node-redis's report of the probe", () => {
  const seen: string[] = [];
  const provider = credentialsProvider(manager, {
    onReAuthenticationError: (error) => seen.push(error.message),
  });
  provider.onReAuthenticationError(new Error(`x: ${PROBE_MARKER}`));
  provider.onReAuthenticationError(new Error("refused"));
  const replaced: string[] = [];
  provider.onReAuthenticationError = (error) => replaced.push(error.message);
  provider.onReAuthenticationError(new Error("again"));
  expect(seen).toEqual(["refused"]);
  expect(replaced).toEqual(["again"]);
  expect(() => {
    provider.onReAuthenticationError = "log" as never;
  }).toThrow(InvalidOptionsError);
});

test("a disposed provider refuses new connections with a typed error", async () => {
  const provider = credentialsProvider(manager);
  provider.dispose();
  provider.dispose(); // idempotent
  const listener = { onNext() {}, onError() {} };
  await expect(provider.subscribe(listener)).rejects.toThrow(CredentialsError);
  await expect(provider.subscribe(listener)).rejects.toThrow(/disposed/);
});

test("subscribe() refuses what is not node-redis's listener", async () => {
  const provider = credentialsProvider(manager);
  await expect(provider.subscribe({} as never)).rejects.toThrow(InvalidOptionsError);
});

test.each([
  ["username", { ...tls, username: "someone" }],
  ["password", { ...tls, password: "secret" }],
  ["credentialsProvider", { ...tls, credentialsProvider: { type: "async-credentials-provider" } }],
])("createClient refuses options that carry their own credentials (%s)", (_, options) => {
  expect(() => createClient(manager, options as never)).toThrow(InvalidOptionsError);
});

test("createClient refuses a URL with a user name or password, without echoing it", () => {
  const attempt = () => createClient(manager, { url: "rediss://me:hunter2@cache.example:6380" });
  expect(attempt).toThrow(InvalidOptionsError);
  expect(attempt).not.toThrow(/hunter2/);
});

test("createClient and createClientPool refuse plain TCP unless allowed, and say so", () => {
  const plain = { socket: { host: "127.0.0.1", port: 6379 } };
  expect(() => createClient(manager, plain)).toThrow(InsecureTransportError);
  expect(() => createClient(manager, { url: "redis://127.0.0.1:6379" })).toThrow(
    /127\.0\.0\.1:6379/,
  );
  expect(() => createClientPool(manager, plain)).toThrow(InsecureTransportError);
  expect(() => createClient(manager, { ...plain, allowInsecureTransport: true })).not.toThrow();
  expect(() => createClient(manager, { url: "rediss://127.0.0.1:6380" })).not.toThrow();
});

test("createCluster and createSentinel check their required options and the node options", () => {
  expect(() => createCluster(manager, {} as never)).toThrow(InvalidOptionsError);
  expect(() =>
    createCluster(manager, { rootNodes: [{ url: "rediss://u:p@127.0.0.1:7000" }] }),
  ).toThrow(/rootNodes\[0\]\.url/);
  expect(() =>
    createCluster(manager, { rootNodes: [], defaults: { password: "secret" } } as never),
  ).toThrow(/options\.defaults/);
  expect(() => createSentinel(manager, {} as never)).toThrow(InvalidOptionsError);
  expect(() =>
    createSentinel(manager, {
      name: "mymaster",
      sentinelRootNodes: [{ host: "127.0.0.1", port: 26379 }],
      nodeClientOptions: { username: "someone" },
    }),
  ).toThrow(/nodeClientOptions/);
});

test("the factories return node-redis objects, unconnected", () => {
  const client = createClient(manager, tls);
  expect(client.isOpen).toBe(false);
  expect(typeof client.duplicate).toBe("function");
  const pool = createClientPool(manager, tls);
  expect(typeof pool.execute).toBe("function");
  const cluster = createCluster(manager, {
    rootNodes: [{ socket: { host: "127.0.0.1", port: 7000 } }],
  });
  expect(cluster.isOpen).toBe(false);
});

test("bindingOf gives the binding of what the factories made, and of a client's duplicates", () => {
  const client = createClient(manager, tls);
  const copy = client.duplicate();
  const pool = createClientPool(manager, tls);
  const cluster = createCluster(manager, { rootNodes: [tls] });
  const sentinel = createSentinel(manager, {
    name: "primary",
    sentinelRootNodes: [{ host: "127.0.0.1", port: 26379 }],
    nodeClientOptions: tls,
  });
  for (const made of [client, pool, cluster, sentinel]) {
    expect(bindingOf(made)?.status()).toEqual({
      connections: 0,
      unidentified: 0,
      reauthFailures: 0,
      iamRetries: 0,
    });
  }
  expect(bindingOf(copy)).toBe(bindingOf(client));
  expect(bindingOf(pool)).not.toBe(bindingOf(client));
  expect(bindingOf(redis.createClient())).toBeUndefined();
  // dispose() of the binding is the provider's: further connects fail with a typed error.
  bindingOf(client)!.dispose();
  expect(bindingOf(client)?.status().connections).toBe(0);
});

test("the factories refuse a manager that is not one with InvalidOptionsError naming it", () => {
  for (const factory of [
    () => createClient({} as never, tls),
    () => createClientPool(undefined as never, tls),
    () => createCluster("manager" as never, { rootNodes: [tls] }),
    () =>
      createSentinel({} as never, {
        name: "primary",
        sentinelRootNodes: [{ host: "127.0.0.1", port: 26379 }],
        nodeClientOptions: tls,
      }),
  ]) {
    expect(factory).toThrow(
      expect.objectContaining({ name: "InvalidOptionsError", option: "manager" }),
    );
  }
});
