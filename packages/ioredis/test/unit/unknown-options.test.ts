import {
  createTokenManager,
  InvalidOptionsError,
  staticCredentials,
} from "@redis-credentials/core";
import { Redis } from "ioredis";
import { bindCredentials, bindingOf, createCluster, createRedis } from "../../src";

// The adapter's own option objects: a key it does not read is refused, naming it and what was
// probably meant. ioredis's options are ioredis's business and pass. No client connects.

const manager = createTokenManager(staticCredentials({ username: "app", password: "pw" }));
afterAll(() => manager.dispose());
const lazyClient = () => new Redis({ port: 1, lazyConnect: true, tls: {} });

function thrown(action: () => unknown): InvalidOptionsError {
  try {
    action();
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error;
    throw error;
  }
  throw new Error("nothing was thrown");
}

test("bindCredentials: a misspelt option names the key and the option meant, and binds nothing", () => {
  const client = lazyClient();
  const error = thrown(() =>
    bindCredentials(client, manager, { allowInsecureTransports: true } as never),
  );
  expect(error.option).toBe("allowInsecureTransports");
  expect(error.message).toBe(
    "Invalid option `allowInsecureTransports`: unknown option: did you mean `allowInsecureTransport`? The options are allowInsecureTransport.",
  );
  expect(bindingOf(client)).toBeUndefined();
  client.disconnect();
});

test("bindCredentials: other unknown keys, and options that are not an object", () => {
  const client = lazyClient();
  expect(
    thrown(() => bindCredentials(client, manager, { insecure: true } as never)).message,
  ).toContain("did you mean `allowInsecureTransport`?");
  expect(thrown(() => bindCredentials(client, manager, { tls: {} } as never)).message).toContain(
    "TLS is the client's option",
  );
  expect(thrown(() => bindCredentials(client, manager, { colour: 1 } as never)).message).toBe(
    "Invalid option `colour`: unknown option. The options are allowInsecureTransport.",
  );
  expect(thrown(() => bindCredentials(client, manager, null as never)).option).toBe("options");
  // The one option there is still binds.
  expect(() => bindCredentials(client, manager, { allowInsecureTransport: false })).not.toThrow();
  bindingOf(client)?.dispose();
  client.disconnect();
});

test.each([
  ["createRedis", (options: object) => createRedis(manager, options as never)],
  ["createCluster", (options: object) => createCluster(manager, [{ port: 1 }], options as never)],
])(
  "%s: a misspelling of the adapter's option is refused; ioredis's options pass",
  async (_, create) => {
    const rejection = await create({ port: 1, allowInsecureTransprot: true }).catch((e) => e);
    expect(rejection).toBeInstanceOf(InvalidOptionsError);
    expect(rejection.option).toBe("options.allowInsecureTransprot");
    expect(rejection.message).toContain("did you mean `allowInsecureTransport`?");
    // Keys the adapter does not know are ioredis's: an unknown one goes through to it.
    const client = await create({
      port: 1,
      tls: {},
      redisOptions: { tls: {} },
      lazyConnect: true,
      madeUpIoredisOption: 1,
    });
    (client as { disconnect(): void }).disconnect();
  },
);
