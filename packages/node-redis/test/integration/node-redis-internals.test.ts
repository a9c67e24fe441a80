import { createClient, type RedisClientType } from "redis";
import {
  cannotReauthenticate,
  identifySubscriber,
  type NodeRedisConnection,
  PROBE_MARKER,
  protocolOf,
  reconnect,
  type StreamingCredentialsListener,
} from "../../src/node-redis-internals";
import { type Fixture, nodeRedisMajor, startFixture } from "./helpers";

/*
 * The adapter relies on the node-redis behaviours listed in src/node-redis-internals.ts. Each test
 * here checks one of them on node-redis clients with a minimal provider of the test's own (not the
 * adapter's), on every supported major, so that a node-redis release that changes one fails CI
 * loudly instead of silently breaking re-authentication.
 */

type Client = RedisClientType<any, any, any, any, any>;
type Credentials = { username: string; password: string };

let fixture: Fixture;

beforeAll(async () => {
  fixture = await startFixture();
});

afterAll(async () => {
  await fixture?.stop();
});

/** A long-lived token of the fixture's identity. */
function credentials(): Credentials {
  const password = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
  return { username: fixture.objectId, password };
}

/** A bare streaming provider that records what node-redis does with it. */
function recordingProvider(onSubscribe?: (listener: StreamingCredentialsListener) => void) {
  const record = {
    listeners: [] as StreamingCredentialsListener[],
    disposed: 0,
    reauthErrors: [] as Error[],
  };
  const provider = {
    type: "streaming-credentials-provider" as const,
    async subscribe(listener: StreamingCredentialsListener) {
      record.listeners.push(listener);
      onSubscribe?.(listener);
      return [credentials(), { dispose: () => record.disposed++ }] as [
        Credentials,
        { dispose(): void },
      ];
    },
    onReAuthenticationError: (error: Error) => record.reauthErrors.push(error),
  };
  return { provider, record };
}

const clients: Client[] = [];
function client(provider: object, extra: Record<string, unknown> = {}): Client {
  const redis = createClient({
    socket: { host: fixture.server.host, port: fixture.server.port },
    credentialsProvider: provider,
    ...extra,
  } as any) as Client;
  redis.on("error", () => {});
  clients.push(redis);
  return redis;
}

afterEach(() => {
  for (const redis of clients.splice(0)) if (redis.isOpen) redis.destroy();
});

/** The instance behind the proxy `createClient()` returns. */
const instanceOf = (redis: Client) => (redis as unknown as { _self: NodeRedisConnection })._self;

async function untilReadyAgain(redis: Client): Promise<void> {
  await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
}

test(`node-redis ${nodeRedisMajor}: subscribe() runs on every reconnect and the previous subscription is never disposed`, async () => {
  // The fault the adapter exists for: a provider that adds a listener per subscribe() piles them up.
  const { provider, record } = recordingProvider();
  const redis = client(provider);
  await redis.connect();
  for (let i = 0; i < 3; i++) {
    const ready = untilReadyAgain(redis);
    fixture.server.killConnections();
    await ready;
  }
  expect(record.listeners).toHaveLength(4);
  expect(record.disposed).toBe(0);
  redis.destroy();
  expect(record.disposed).toBe(1);
});

test(`node-redis ${nodeRedisMajor}: the probe identifies the subscribing client and sends nothing`, async () => {
  const identified: (NodeRedisConnection | undefined)[] = [];
  const { provider, record } = recordingProvider((listener) => {
    identified.push(identifySubscriber(listener));
  });
  const first = client(provider);
  const second = client(provider);
  const before = fixture.server.stats().authAttempts;
  await Promise.all([first.connect(), second.connect()]);
  await first.ping();
  // The probe's error reaches onReAuthenticationError a tick later, marked.
  await new Promise((resolve) => setImmediate(resolve));
  expect(new Set(identified)).toEqual(new Set([instanceOf(first), instanceOf(second)]));
  expect(fixture.server.stats().authAttempts - before).toBe(2); // the two handshakes only
  expect(record.reauthErrors.map((error) => error.message.includes(PROBE_MARKER))).toEqual([
    true,
    true,
  ]);
  // The getter is back: the clients answer as before.
  expect(first.isPubSubActive).toBe(false);
});

test(`node-redis ${nodeRedisMajor}: the probe also identifies a RESP2 subscriber on reconnect`, async () => {
  const identified: (NodeRedisConnection | undefined)[] = [];
  const { provider } = recordingProvider((listener) =>
    identified.push(identifySubscriber(listener)),
  );
  const redis = client(provider, { RESP: 2 });
  await redis.connect();
  await redis.subscribe("internals", () => {});
  const ready = untilReadyAgain(redis);
  fixture.server.killConnections();
  await ready;
  expect(identified).toEqual([instanceOf(redis), instanceOf(redis)]);
});

test(`node-redis ${nodeRedisMajor}: a listener from another source is left unidentified, and nothing throws`, () => {
  const seen: unknown[] = [];
  const listener = { onNext: (credentials: unknown) => seen.push(credentials), onError() {} };
  expect(identifySubscriber(listener)).toBeUndefined();
  expect(seen).toHaveLength(1);
});

test(`node-redis ${nodeRedisMajor}: the default protocol, and RESP2 pub/sub refusing AUTH`, async () => {
  const { provider } = recordingProvider();
  const resp2 = client(provider, { RESP: 2 });
  const byDefault = client(provider);
  await Promise.all([resp2.connect(), byDefault.connect()]);
  expect(protocolOf(instanceOf(byDefault))).toBe(nodeRedisMajor === 6 ? 3 : 2);
  expect(cannotReauthenticate(instanceOf(resp2))).toBe(false);
  await resp2.subscribe("internals", () => {});
  expect(cannotReauthenticate(instanceOf(resp2))).toBe(true);
  // Redis itself refuses AUTH in RESP2 subscribe mode, which is why the adapter reconnects.
  const { username, password } = credentials();
  await expect(instanceOf(resp2).sendCommand(["AUTH", username, password])).rejects.toThrow(
    /only .*allowed in this context|RESP2/i,
  );
});

test(`node-redis ${nodeRedisMajor}: reconnect() makes a RESP2 subscriber reconnect and resubscribe, with no error for the user`, async () => {
  const { provider, record } = recordingProvider();
  const subscriber = client(provider, { RESP: 2 });
  const publisher = client(recordingProvider().provider);
  const errors: unknown[] = [];
  subscriber.on("error", (error) => errors.push(error));
  await Promise.all([subscriber.connect(), publisher.connect()]);
  const received: string[] = [];
  await subscriber.subscribe("internals", (message) => received.push(message));
  const ready = untilReadyAgain(subscriber);
  reconnect(instanceOf(subscriber));
  await ready;
  expect(record.listeners).toHaveLength(2);
  // Resubscribed: a message published now arrives.
  for (let attempt = 0; attempt < 50 && !received.includes("after"); attempt++) {
    await publisher.publish("internals", "after");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(received).toContain("after");
  expect(errors).toEqual([]);
});

test(`node-redis ${nodeRedisMajor}: removing a listener from the instance drops listeners added through the proxy`, async () => {
  // Why the adapter never removes its listeners (see #listenTo in credentials-provider.ts).
  const { provider } = recordingProvider();
  const redis = createClient({
    socket: { host: fixture.server.host, port: fixture.server.port },
    credentialsProvider: provider,
  } as any) as Client;
  const userListener = () => {};
  redis.on("error", userListener);
  const ours = () => {};
  instanceOf(redis).on("ready", ours);
  instanceOf(redis).off("ready", ours);
  expect(redis.listenerCount("error")).toBe(0);
});

test(`node-redis ${nodeRedisMajor}: an Error from reconnectStrategy ends connect() with it as originalError`, async () => {
  const stop = new Error("stop here");
  const failing = {
    type: "streaming-credentials-provider" as const,
    subscribe: async () => {
      throw new Error("no credentials");
    },
    onReAuthenticationError: () => {},
  };
  const redis = client(failing, {
    socket: { host: fixture.server.host, port: fixture.server.port, reconnectStrategy: () => stop },
  });
  const outcome = await redis.connect().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect((outcome as { originalError?: unknown }).originalError).toBe(stop);
});
