import {
  createTokenManager,
  InvalidOptionsError,
  staticCredentials,
} from "@redis-credentials/core";
import {
  createClient,
  createClientPool,
  createCluster,
  createSentinel,
  credentialsProvider,
} from "../../src";

// Option values of the wrong type or shape: refused at once with InvalidOptionsError naming the
// option and saying what to pass, before any client exists. Nothing connects.

const manager = createTokenManager(staticCredentials({ username: "user", password: "pw" }));
afterAll(() => manager.dispose());

function thrown(action: () => unknown): InvalidOptionsError {
  try {
    action();
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error;
    throw error;
  }
  throw new Error("nothing was thrown");
}

test.each([
  ["a URL string", "redis://127.0.0.1:6379", /not a string: for a URL, pass \{ url: /],
  ["an array", [], /must be an object of node-redis client options/],
  ["null", null, /must be an object of node-redis client options/],
])(
  "createClient and createClientPool: options %s are refused, pointing at { url }",
  (_title, options, message) => {
    for (const create of [createClient, createClientPool]) {
      const error = thrown(() => create(manager, options as never));
      expect(error.option).toBe("options");
      expect(error.message).toMatch(message);
    }
  },
);

test("credentialsProvider: onReAuthenticationError that is not a function is refused", () => {
  for (const value of [5, "log", {}]) {
    const error = thrown(() =>
      credentialsProvider(manager, { onReAuthenticationError: value as never }),
    );
    expect(error.option).toBe("onReAuthenticationError");
    expect(error.message).toMatch(/must be a function/);
  }
  // A function, or none, is fine.
  credentialsProvider(manager, { onReAuthenticationError: () => {} }).dispose();
  credentialsProvider(manager).dispose();
});

test("allowInsecureTransport that is not a boolean is refused by every entry point", () => {
  const socket = { host: "127.0.0.1", port: 1, tls: true as const };
  const yes = "yes" as never;
  const entryPoints: [string, () => unknown][] = [
    ["createClient", () => createClient(manager, { socket, allowInsecureTransport: yes })],
    ["createClientPool", () => createClientPool(manager, { socket, allowInsecureTransport: yes })],
    [
      "createCluster",
      () => createCluster(manager, { rootNodes: [{ socket }], allowInsecureTransport: yes }),
    ],
    [
      "createSentinel",
      () =>
        createSentinel(manager, {
          name: "mymaster",
          sentinelRootNodes: [socket],
          allowInsecureTransport: yes,
        }),
    ],
    ["credentialsProvider", () => credentialsProvider(manager, { allowInsecureTransport: yes })],
  ];
  for (const [name, create] of entryPoints) {
    const error = thrown(create);
    expect({ name, option: error.option, message: error.message }).toEqual({
      name,
      option: "options.allowInsecureTransport",
      message: expect.stringMatching(/must be true or false, not "yes"/),
    });
  }
});
