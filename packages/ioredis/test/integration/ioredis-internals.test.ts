import { Socket } from "node:net";
import { Cluster, Command, Redis, type RedisOptions } from "ioredis";

interface Denque {
  length: number;
  peekAt(index: number): { command?: unknown } | undefined;
  removeOne(index: number): unknown;
}

import { startTokenRedis } from "@redis-credentials/testing";
import {
  clusterSubscriberConnections,
  enteringResp2SubscriberMode,
  hookClusterSubscribers,
  usesTls,
} from "../../src/ioredis-internals";
import { type Fixture, ioredisMajor, iovalkey, startFixture } from "./helpers";
import { collectErrors, splitOptions, waitFor } from "./standalone-helpers";

/*
 * ioredis has no credential hook: the adapter relies on the internals listed at the top of
 * src/ioredis-internals.ts (and on a few behaviours of public API). Each test here checks one of
 * them on PLAIN ioredis clients (no adapter), on every supported major, so that an ioredis
 * release that moves one fails CI loudly instead of silently losing re-authentication.
 */

interface Internals {
  connector: {
    connect: (callback: (type: string, error?: unknown) => void) => Promise<unknown>;
    disconnect: () => void;
    firstError?: unknown;
  };
  condition?: {
    auth?: string | [string, string];
    protocol?: number;
    subscriber?: SubscriptionSet | false;
  };
  commandQueue: {
    length: number;
    peekAt(index: number): { command?: { name?: string; promise?: Promise<unknown> } } | undefined;
  };
  silentEmit: (event: string, ...args: unknown[]) => boolean;
}
interface SubscriptionSet {
  add(type: string, channel: string): void;
  channels(type: string): string[];
}
const internals = (redis: Redis) => redis as unknown as Internals;
/** A RESP2 subscriber's SubscriptionSet (undefined while condition.subscriber is false). */
const subscriptions = (redis: Redis) => internals(redis).condition?.subscriber || undefined;

let fixture: Fixture;

beforeAll(async () => {
  fixture = await startFixture();
});

afterAll(async () => {
  await fixture?.stop();
});

/** A long-lived token of the fixture's identity, and ioredis options that reach the server. */
function plainOptions(extra: RedisOptions = {}): RedisOptions {
  const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
  return splitOptions(
    fixture.redisOptions({
      username: fixture.objectId,
      password: token,
      lazyConnect: true,
      ...extra,
    }),
  ).redisOptions;
}

/** Clients made in a test, disconnected after it. */
const clients: Redis[] = [];
function client(extra: RedisOptions = {}): Redis {
  const redis = new Redis(plainOptions(extra));
  clients.push(redis);
  return redis;
}
afterEach(() => {
  for (const redis of clients.splice(0)) redis.disconnect();
});

const protocols: { name: string; options: RedisOptions }[] =
  ioredisMajor === 6
    ? [
        { name: "RESP3 (HELLO AUTH)", options: {} },
        { name: "RESP2 (AUTH)", options: { protocol: 2 } as RedisOptions },
      ]
    : [{ name: "RESP2 (AUTH)", options: {} }];

describe("redis.connector.connect", () => {
  it("exists and is called on every connect and reconnect, after `condition` is built from the options and before a socket exists", async () => {
    const redis = client();
    const { connector } = internals(redis);
    expect(typeof connector?.connect).toBe("function");
    expect(typeof connector?.disconnect).toBe("function");
    const calls: { status: string; auth: unknown; stream: boolean }[] = [];
    const connect = connector.connect;
    connector.connect = function (callback) {
      calls.push({
        status: redis.status,
        auth: internals(redis).condition?.auth,
        stream: (redis as unknown as { stream?: unknown }).stream !== undefined,
      });
      return connect.call(this, callback);
    };
    await redis.connect();
    expect(calls).toEqual([
      { status: "connecting", auth: [fixture.objectId, redis.options.password], stream: false },
    ]);
    // ioredis reads the options afresh on each (re)connect: what the adapter keeps current.
    const next = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
    redis.options.password = next;
    const ready = new Promise((resolve) => redis.once("ready", resolve));
    redis.disconnect(true);
    await ready;
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ status: "connecting", auth: [fixture.objectId, next] });
    expect(await redis.ping()).toBe("PONG");
  });

  it("disconnect() goes through connector.disconnect (the adapter aborts a pending attempt there)", async () => {
    const redis = client();
    await redis.connect();
    const { connector } = internals(redis);
    let called = 0;
    const disconnect = connector.disconnect;
    connector.disconnect = function () {
      called++;
      return disconnect.call(this);
    };
    redis.disconnect();
    expect(called).toBe(1);
  });
});

describe("redis.condition.auth", () => {
  it.each(protocols)("is what the handshake sends, $name", async ({ options }) => {
    // The options hold credentials the server refuses; only condition.auth is valid.
    const redis = client({ ...options, username: "nobody", password: "not-a-token" });
    const good = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
    const { connector } = internals(redis);
    const connect = connector.connect;
    connector.connect = function (callback) {
      internals(redis).condition!.auth = [fixture.objectId, good];
      return connect.call(this, callback);
    };
    const before = fixture.server.stats();
    await redis.connect();
    expect(await redis.ping()).toBe("PONG");
    const after = fixture.server.stats();
    expect(after.authSuccesses).toBe(before.authSuccesses + 1);
    expect(after.authRejected).toEqual(before.authRejected);
    const port = (redis as unknown as { stream: Socket }).stream.localPort;
    expect(fixture.server.connections().find((c) => c.clientPort === port)?.user).toBe(
      fixture.objectId,
    );
  });
});

describe("connector.firstError and a destroyed stream", () => {
  it("fail an attempt the way a refused socket does: an `error` event, then retryStrategy (with the options as `this`), then a retry", async () => {
    const strategyCalls: { times: number; thisIsOptions: boolean }[] = [];
    const redis = client({
      retryStrategy(this: unknown, times: number) {
        strategyCalls.push({ times, thisIsOptions: this === redis.options });
        return 10;
      },
    });
    const errors = collectErrors(redis);
    const { connector } = internals(redis);
    const connect = connector.connect;
    let failures = 2;
    connector.connect = async function (callback) {
      if (failures-- > 0) {
        connector.firstError = new Error(`attempt failed by the hook (${failures})`);
        const stream = new Socket();
        stream.destroy();
        return stream;
      }
      connector.firstError = undefined;
      return connect.call(this, callback);
    };
    redis.connect().catch(() => {});
    await waitFor(() => redis.status === "ready", "the third attempt to succeed", 5_000);
    expect(errors.map((error) => error.message)).toEqual([
      "attempt failed by the hook (1)",
      "attempt failed by the hook (0)",
    ]);
    expect(strategyCalls).toEqual([
      { times: 1, thisIsOptions: true },
      { times: 2, thisIsOptions: true },
    ]);
    expect(await redis.ping()).toBe("PONG");
  });

  it("whereas a rejected connect ends the client for good (why the adapter never rejects)", async () => {
    let strategyCalls = 0;
    const redis = client({
      retryStrategy: () => {
        strategyCalls++;
        return 10;
      },
    });
    const errors = collectErrors(redis);
    internals(redis).connector.connect = () => Promise.reject(new Error("rejected by the hook"));
    await expect(redis.connect()).rejects.toThrow("rejected by the hook");
    await waitFor(() => redis.status === "end", "the client to end", 2_000);
    expect(errors.map((error) => error.message)).toEqual(["rejected by the hook"]);
    expect(strategyCalls).toBe(0);
  });
});

describe("redis.silentEmit", () => {
  it("emits `error` to listeners, and never throws when nobody listens", async () => {
    const redis = client();
    expect(typeof internals(redis).silentEmit).toBe("function");
    const error = new Error("reported by the adapter");
    // Nobody listens: ioredis prints it rather than throwing.
    const printed = jest.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(() => internals(redis).silentEmit("error", error)).not.toThrow();
      expect(printed).toHaveBeenCalledTimes(1);
      expect(String(printed.mock.calls[0]?.[0])).toContain("Unhandled error event");
    } finally {
      printed.mockRestore();
    }
    const errors = collectErrors(redis);
    internals(redis).silentEmit("error", error);
    expect(errors).toEqual([error]);
  });
});

describe("redis.prevCommandQueue", () => {
  it("holds the commands in flight when the connection closed, as { command } in a denque, and re-sends them after the reconnect unless removed", async () => {
    const redis = client({ retryStrategy: () => 50 });
    await redis.connect();
    // A frozen server leaves both commands unanswered when the connection is closed.
    fixture.server.pauseNode();
    const resent = new Command("echo", ["re-sent"], { replyEncoding: "utf8" });
    const dropped = new Command("echo", ["dropped"]);
    redis.sendCommand(resent);
    redis.sendCommand(dropped);
    const droppedResult = dropped.promise.catch((error: Error) => error);
    // The close listener runs before the reconnect: what the adapter's does, by command identity.
    let seen: unknown[] = [];
    redis.once("close", () => {
      const queue = (redis as unknown as { prevCommandQueue: Denque }).prevCommandQueue;
      seen = Array.from({ length: queue.length }, (_, i) => queue.peekAt(i)?.command);
      queue.removeOne(seen.indexOf(dropped));
      dropped.reject(new Error("removed"));
    });
    fixture.server.killConnections();
    fixture.server.resumeNode();
    expect(await resent.promise).toBe("re-sent");
    expect(seen).toEqual([resent, dropped]);
    expect(((await droppedResult) as Error).message).toBe("removed");
    const offlineQueue = (redis as unknown as { offlineQueue: Denque }).offlineQueue;
    expect(typeof offlineQueue.peekAt).toBe("function");
    expect(typeof offlineQueue.removeOne).toBe("function");
  });
});

describe("RESP2 subscriber mode: redis.commandQueue, condition.protocol, condition.subscriber", () => {
  it.each(protocols)(
    "a SUBSCRIBE in flight is a commandQueue entry named `subscribe` while condition.subscriber is still false, and Redis refuses an AUTH written behind it on RESP2 only, $name",
    async ({ options }) => {
      const redis = client(options);
      await redis.connect();
      const resp2 = ioredisMajor === 5 || (options as { protocol?: number }).protocol === 2;
      // ioredis 6 sets the protocol it speaks (2 after a RESP3 fallback); ioredis 5 has none.
      expect(internals(redis).condition!.protocol === 3).toBe(!resp2);
      fixture.server.pauseNode();
      try {
        const subscribed = redis.subscribe("news");
        const queue = internals(redis).commandQueue;
        const names = Array.from({ length: queue.length }, (_, i) => queue.peekAt(i)?.command);
        expect(names.map((command) => command?.name)).toEqual(["subscribe"]);
        expect(typeof names[0]?.promise?.then).toBe("function");
        // ioredis switches mode only on the reply: it writes the AUTH.
        expect(internals(redis).condition!.subscriber).toBe(false);
        expect(redis.mode).toBe("normal");
        expect(enteringResp2SubscriberMode(redis)).toBe(resp2);
        const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
        const auth = new Command("auth", [fixture.objectId, token], { replyEncoding: "utf8" });
        redis.sendCommand(auth);
        const outcome = auth.promise.catch((error: Error) => error);
        fixture.server.resumeNode();
        await subscribed;
        if (resp2) {
          expect(String(await outcome)).toMatch(/only \(P\|S\)SUBSCRIBE/);
          expect(redis.mode).toBe("subscriber");
        } else {
          expect(await outcome).toBe("OK");
        }
        expect(internals(redis).condition!.subscriber).not.toBe(false);
        expect(enteringResp2SubscriberMode(redis)).toBe(false);
      } finally {
        fixture.server.resumeNode();
      }
    },
  );

  it("a reconnect starts a fresh condition whose SubscriptionSet holds the channels only once Redis confirms the resubscription (channels(type), add(type, channel), a new one from its constructor)", async () => {
    const redis = client(ioredisMajor === 6 ? ({ protocol: 2 } as RedisOptions) : {});
    await redis.connect();
    await redis.subscribe("news");
    await redis.psubscribe("alerts:*");
    const before = subscriptions(redis)!;
    expect(before.channels("subscribe")).toEqual(["news"]);
    expect(before.channels("psubscribe")).toEqual(["alerts:*"]);
    const empty = new (before.constructor as new () => SubscriptionSet)();
    expect(empty.channels("subscribe")).toEqual([]);
    empty.add("ssubscribe", "orders");
    expect(empty.channels("ssubscribe")).toEqual(["orders"]);
    // Frozen as soon as it is ready again: ioredis has written the resubscription.
    let frozen = false;
    redis.once("ready", () => {
      fixture.server.pauseNode(0, 5_000);
      frozen = true;
    });
    try {
      redis.disconnect(true);
      await waitFor(() => frozen, "the reconnect", 5_000);
      expect(internals(redis).condition).not.toBe(undefined);
      expect(internals(redis).condition!.subscriber).toBe(false);
      expect(enteringResp2SubscriberMode(redis)).toBe(true);
      fixture.server.resumeNode();
      await waitFor(() => redis.mode === "subscriber", "the resubscription", 5_000);
      await waitFor(
        () => subscriptions(redis)?.channels("psubscribe").length === 1,
        "the pattern's resubscription",
        5_000,
      );
      expect(subscriptions(redis)!.channels("subscribe")).toEqual(["news"]);
    } finally {
      fixture.server.resumeNode();
    }
  });
});

describe("public behaviours the adapter builds on", () => {
  it("a live redis.auth() does not update the options (the adapter sets them itself)", async () => {
    const redis = client();
    await redis.connect();
    const password = redis.options.password;
    const next = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
    expect(await redis.auth(fixture.objectId, next)).toBe("OK");
    expect(redis.options.password).toBe(password);
  });

  it("monitor() makes its connection with this.duplicate() (so a bound client binds it), in status `monitoring`", async () => {
    const redis = client();
    await redis.connect();
    let duplicated: Redis | undefined;
    const duplicate = redis.duplicate;
    redis.duplicate = function (...args: Parameters<Redis["duplicate"]>) {
      duplicated = duplicate.apply(this, args);
      clients.push(duplicated);
      return duplicated;
    };
    const monitor = await redis.monitor();
    expect(monitor).toBe(duplicated);
    expect(monitor.status).toBe("monitoring");
    expect(monitor.mode).toBe("monitor");
  });

  it.each(protocols)(
    "a subscriber's `mode`, and whether ioredis lets it send AUTH, $name",
    async ({ options }) => {
      const redis = client(options);
      await redis.connect();
      await redis.subscribe("news");
      const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
      const resp2 = ioredisMajor === 5 || (options as { protocol?: number }).protocol === 2;
      if (resp2) {
        // RESP2 subscribers cannot re-AUTH in place: the adapter reconnects them.
        expect(redis.mode).toBe("subscriber");
        await expect(redis.auth(fixture.objectId, token)).rejects.toThrow(/subscriber mode/);
      } else {
        expect(redis.mode).toBe("normal");
        expect(await redis.auth(fixture.objectId, token)).toBe("OK");
      }
    },
  );
});

describe("a cluster's pub/sub connections", () => {
  let cluster: Fixture;

  beforeAll(async () => {
    cluster = await startFixture({ cluster: { masters: 3 } });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  function plainCluster(extra: Partial<ConstructorParameters<typeof Cluster>[1]> = {}) {
    const token = cluster.issuer.issueToken({ objectId: cluster.objectId, lifetimeMs: 60_000 });
    return new Cluster([{ host: cluster.server.host, port: cluster.server.port }], {
      lazyConnect: true,
      ...extra,
      redisOptions: { username: cluster.objectId, password: token, ...extra.redisOptions },
    });
  }

  it("cluster.subscriber.selectSubscriber() and .subscriber: the subscriber, outside cluster.nodes()", async () => {
    const redis = plainCluster();
    try {
      const subscriber = (redis as unknown as { subscriber?: { selectSubscriber?: unknown } })
        .subscriber;
      expect(typeof subscriber?.selectSubscriber).toBe("function");
      const seen: Redis[] = [];
      hookClusterSubscribers(redis, (connection) => seen.push(connection));
      await redis.connect();
      await redis.subscribe("news");
      const connections = clusterSubscriberConnections(redis);
      expect(connections).toHaveLength(1);
      expect(connections[0]).toBeInstanceOf(Redis);
      expect(redis.nodes("all")).not.toContain(connections[0]);
      // The hook saw the subscriber ioredis selected.
      expect(seen).toContain(connections[0]);
    } finally {
      redis.disconnect();
    }
  });

  it("when the subscriber ends (a kill), ClusterSubscriber subscribes the next connection to what the ended one's condition.subscriber holds on `end`; `close` comes first, with status `end`", async () => {
    const redis = plainCluster(
      ioredisMajor === 6 ? { redisOptions: { protocol: 2 } as RedisOptions } : {},
    );
    try {
      await redis.connect();
      await redis.subscribe("news");
      const [first] = clusterSubscriberConnections(redis);
      // retryStrategy null: a closed subscriber ends, and ClusterSubscriber makes a new one.
      expect(first?.options.retryStrategy).toBeNull();
      // What the adapter's close listener does for a resubscription Redis had not confirmed.
      let statusOnClose: string | undefined;
      first!.once("close", () => {
        statusOnClose = first!.status;
        subscriptions(first!)!.add("subscribe", "restored");
      });
      const port = (first as unknown as { stream: Socket }).stream.localPort;
      expect(cluster.server.killConnections({ clientPort: port })).toBe(1);
      await waitFor(
        () => {
          const [next] = clusterSubscriberConnections(redis);
          if (next === undefined || next === first) return false;
          return subscriptions(next)?.channels("subscribe").length === 2;
        },
        "the next subscriber to subscribe to both channels",
        5_000,
      );
      expect(statusOnClose).toBe("end");
      const [next] = clusterSubscriberConnections(redis);
      expect(subscriptions(next!)!.channels("subscribe").sort()).toEqual(["news", "restored"]);
    } finally {
      redis.disconnect();
    }
  });

  // iovalkey has no sharded subscribers: the adapter finds no Map and binds nothing more. Only
  // the test for the library under test is defined.
  if (iovalkey) {
    it("iovalkey: no cluster.shardedSubscribers, only cluster.subscriber (ssubscribe goes there too)", async () => {
      const redis = plainCluster({ shardedSubscribers: true } as object);
      try {
        expect(
          (redis as unknown as { shardedSubscribers?: unknown }).shardedSubscribers,
        ).toBeUndefined();
        const seen: Redis[] = [];
        hookClusterSubscribers(redis, (connection) => seen.push(connection));
        await redis.connect();
        await redis.subscribe("news");
        const [subscriber] = clusterSubscriberConnections(redis);
        expect(subscriber).toBeInstanceOf(Redis);
        expect(seen).toContain(subscriber);
        expect(clusterSubscriberConnections(redis)).toHaveLength(1);
      } finally {
        redis.disconnect();
      }
    });
  } else {
    it("cluster.shardedSubscribers.shardedSubscribers: a Map of { instance }, one per shard subscribed", async () => {
      const redis = plainCluster({ shardedSubscribers: true } as object);
      try {
        const map = (redis as unknown as { shardedSubscribers?: { shardedSubscribers?: unknown } })
          .shardedSubscribers?.shardedSubscribers;
        expect(map).toBeInstanceOf(Map);
        const seen: Redis[] = [];
        hookClusterSubscribers(redis, (connection) => seen.push(connection));
        await redis.connect();
        await redis.ssubscribe("orders");
        const sharded = [...(map as Map<string, { instance?: Redis }>).values()]
          .map((entry) => entry.instance)
          .filter((instance) => instance instanceof Redis);
        expect(sharded.length).toBeGreaterThanOrEqual(1);
        for (const instance of sharded) {
          expect(redis.nodes("all")).not.toContain(instance);
          expect(seen).toContain(instance);
        }
      } finally {
        redis.disconnect();
      }
    });
  }
});

describe("SentinelConnector", () => {
  it("uses `tls` for the master connection only with enableTLSForSentinelMode (what usesTls() mirrors)", async () => {
    // A plain-TCP master behind a sentinel: `tls` alone is ignored, and with
    // enableTLSForSentinelMode the client speaks TLS to it, which fails.
    const server = await startTokenRedis({
      identity: fixture.issuer,
      tls: false,
      sentinel: { replicas: 0 },
    });
    try {
      const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
      const base = {
        sentinels: server.sentinels,
        name: server.masterName,
        username: fixture.objectId,
        password: token,
        tls: {},
        lazyConnect: true,
      };
      const plain = new Redis(base);
      clients.push(plain);
      expect(internals(plain).connector.constructor.name).toBe("SentinelConnector");
      expect(usesTls(plain.options)).toBe(false);
      await plain.connect();
      expect(await plain.ping()).toBe("PONG");

      const secure = new Redis({
        ...base,
        enableTLSForSentinelMode: true,
        retryStrategy: () => null,
      });
      clients.push(secure);
      expect(usesTls(secure.options)).toBe(true);
      const errors = collectErrors(secure);
      await expect(secure.connect()).rejects.toThrow();
      expect(secure.status).not.toBe("ready");
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      for (const redis of clients.splice(0)) redis.disconnect();
      await server.stop();
    }
  }, 60_000);
});
