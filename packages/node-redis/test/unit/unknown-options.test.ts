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

// The adapter's own option objects: a key it does not read is refused, naming it and what was
// probably meant. node-redis's options are node-redis's business and pass. Nothing connects.

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

test("credentialsProvider: an unknown option names the key and the option meant", () => {
  const error = thrown(() => credentialsProvider(manager, { onError: () => {} } as never));
  expect(error.option).toBe("onError");
  expect(error.message).toBe(
    "Invalid option `onError`: unknown option: did you mean `onReAuthenticationError`? The options are allowInsecureTransport, onReAuthenticationError.",
  );
  expect(
    thrown(() => credentialsProvider(manager, { allowInsecureTransprot: true } as never)).message,
  ).toContain("did you mean `allowInsecureTransport`?");
  expect(thrown(() => credentialsProvider(manager, { colour: 1 } as never)).message).toBe(
    "Invalid option `colour`: unknown option. The options are allowInsecureTransport, onReAuthenticationError.",
  );
  expect(thrown(() => credentialsProvider(manager, null as never)).option).toBe("options");
  expect(() =>
    credentialsProvider(manager, {
      allowInsecureTransport: true,
      onReAuthenticationError: () => {},
    }),
  ).not.toThrow();
});

const socket = { host: "127.0.0.1", port: 1, tls: true as const };

test.each([
  ["createClient", (extra: object) => createClient(manager, { socket, ...extra })],
  ["createClientPool", (extra: object) => createClientPool(manager, { socket, ...extra })],
  [
    "createCluster",
    (extra: object) => createCluster(manager, { rootNodes: [{ socket }], ...extra }),
  ],
  [
    "createSentinel",
    (extra: object) =>
      createSentinel(manager, {
        name: "mymaster",
        sentinelRootNodes: [socket],
        nodeClientOptions: { socket },
        ...extra,
      }),
  ],
])(
  "%s: a misspelling of the adapter's option is refused; node-redis's options pass",
  (_, create) => {
    const error = thrown(() => create({ allowInsecureTransports: true }));
    expect(error.option).toBe("options.allowInsecureTransports");
    expect(error.message).toContain("did you mean `allowInsecureTransport`?");
    expect(error.message).toContain("node-redis would ignore it");
    expect(() => create({ madeUpNodeRedisOption: 1 })).not.toThrow();
  },
);
