/**
 * Tokens are secrets: a bound client's options (standalone, cluster, nodes, subscribers,
 * duplicates) print none with `console.log`/`util.inspect`/`JSON.stringify`, yet every
 * reconnect and `duplicate()` still authenticates with the current one; and no error a bound
 * client emits or rejects with (refused handshakes, refused re-AUTHs, the typed error's cause
 * chain, queued commands failed by a refusal) carries one.
 */
import { inspect } from "node:util";
import { CredentialsRejectedError, type TokenManager } from "@redis-credentials/core";
import { expectNoToken, recordingSource } from "@redis-credentials/test-helpers";
import type { Cluster, Redis } from "ioredis";
import { createCluster, createRedis } from "../../src";
import { clusterSubscriberConnections } from "../../src/ioredis-internals";
import { clusterOptions, seedNodes } from "./cluster-helpers";
import { type Fixture, startFixture } from "./helpers";
import {
  collectErrors,
  lazyBoundClient,
  managerFor,
  WRONG_USER,
  waitFor,
} from "./standalone-helpers";

/** Until the manager has handed out a token other than `token`. */
function untilRotated(manager: TokenManager, token: string): Promise<void> {
  return waitFor(() => manager.peekCredentials()?.password !== token, "a rotation", 10_000);
}

const isRejected = (error: unknown) => error instanceof CredentialsRejectedError;

describe("standalone", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
  }, 60_000);
  afterAll(() => fixture.stop());

  it("options hide the token, while reconnects and duplicate() authenticate with the current one", async () => {
    const { source, tokens } = recordingSource(fixture, "ok");
    const manager = managerFor(source);
    const clients: Redis[] = [];
    try {
      const redis = await createRedis(manager, fixture.redisOptions());
      clients.push(redis);
      const { password: first, expiresAt: firstExpiresAt } = manager.peekCredentials()!;
      // The options still answer with the current token (ioredis reads it on every connect).
      expect(redis.options.password).toBe(first);
      expectNoToken(redis.options, tokens, "redis.options");
      expect(Object.keys(redis.options)).not.toContain("password");

      // Once the first token has expired, a reconnect must send the current one.
      await untilRotated(manager, first);
      await waitFor(() => Date.now() > firstExpiresAt + 200, "the first token's expiry");
      redis.disconnect(true);
      await waitFor(() => redis.status === "ready", "the reconnect");
      expect(await redis.ping()).toBe("PONG");
      expectNoToken(redis.options, tokens, "redis.options after a reconnect");

      // Copies made by duplicate() (BullMQ's way) authenticate, and hide their token too.
      const copy = redis.duplicate();
      clients.push(copy);
      expect(await copy.ping()).toBe("PONG");
      expectNoToken(copy.options, tokens, "duplicate().options");
      const lazyCopy = redis.duplicate({ lazyConnect: true });
      clients.push(lazyCopy);
      await lazyCopy.connect();
      expect(await lazyCopy.ping()).toBe("PONG");
      expectNoToken(lazyCopy.options, tokens, "duplicate({ lazyConnect }).options");

      // A client the user built and bound.
      const { redis: bound } = lazyBoundClient(fixture, manager);
      clients.push(bound);
      await bound.connect();
      expect(await bound.ping()).toBe("PONG");
      expectNoToken(bound.options, tokens, "options of a client bound with bindCredentials");
    } finally {
      for (const client of clients) client.disconnect();
      await manager.dispose();
    }
  }, 30_000);

  it("a refused handshake: no token in the error events, the typed error's causes, or failed commands", async () => {
    const { source, tokens } = recordingSource(fixture, "wrong-user");
    const manager = managerFor(source);
    const { redis } = lazyBoundClient(fixture, manager);
    const errors = collectErrors(redis);
    try {
      // Queued before the connect: ioredis fails it with the refused AUTH's own error.
      const queued = redis.get("queued").then(
        () => undefined,
        (error: unknown) => error,
      );
      redis.connect().catch(() => {});
      await waitFor(() => errors.some(isRejected), "CredentialsRejectedError");
      const rejected = errors.find(isRejected) as CredentialsRejectedError;
      expect(rejected.username).toBe(WRONG_USER);
      // The cause is ioredis's reply error, with the user name but not the token.
      const cause = rejected.cause as { name?: string; message?: string; command?: unknown };
      expect(cause.name).toBe("ReplyError");
      expect(cause.message).toMatch(/^WRONGPASS/);
      expect(inspect(cause.command)).toContain(WRONG_USER);
      expect(tokens.length).toBeGreaterThanOrEqual(2);
      expectNoToken(errors, tokens, "the client's error events");
      expectNoToken(await queued, tokens, "the error of a command failed by the refusal");
      expectNoToken(redis.options, tokens, "redis.options");
    } finally {
      redis.disconnect();
      await manager.dispose();
    }
  }, 30_000);

  it("createRedis for a refused identity rejects with no token in the error or its causes", async () => {
    const { source, tokens } = recordingSource(fixture, "wrong-user");
    const manager = managerFor(source);
    try {
      const error = await createRedis(manager, fixture.redisOptions()).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(CredentialsRejectedError);
      expect((error as Error).cause).toBeDefined();
      expectNoToken(error, tokens, "createRedis's rejection");
    } finally {
      await manager.dispose();
    }
  }, 30_000);

  it("a refused re-AUTH on a live connection: no token in the error events or causes", async () => {
    const { source, tokens } = recordingSource(fixture, "ok");
    const manager = managerFor(source);
    const redis = await createRedis(manager, fixture.redisOptions());
    const errors = collectErrors(redis);
    try {
      source.switchable.mode = "wrong-user";
      await waitFor(() => errors.some(isRejected), "CredentialsRejectedError", 15_000);
      const rejected = errors.find(isRejected) as CredentialsRejectedError;
      expect((rejected.cause as Error).message).toMatch(/^WRONGPASS/);
      expectNoToken(errors, tokens, "the client's error events");
    } finally {
      redis.disconnect();
      await manager.dispose();
    }
  }, 30_000);
});

describe("cluster", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ cluster: { masters: 3 } });
  }, 60_000);
  afterAll(() => fixture.stop());

  it("redisOptions, node and subscriber options hide the token; nodes and duplicates authenticate", async () => {
    const { source, tokens } = recordingSource(fixture, "ok");
    const manager = managerFor(source);
    const clusters: Cluster[] = [];
    try {
      const cluster = await createCluster(manager, seedNodes(fixture), clusterOptions(fixture));
      clusters.push(cluster);
      await cluster.set("{a}key", "1");
      await cluster.subscribe("news");
      const first = manager.peekCredentials()!.password;
      await untilRotated(manager, first);
      // Every master answers (each node authenticated), and new connections use the current token.
      for (const node of cluster.nodes("master")) expect(await node.ping()).toBe("PONG");
      const copy = cluster.duplicate();
      clusters.push(copy);
      expect(await copy.get("{a}key")).toBe("1");

      const connections = [
        ...cluster.nodes("all"),
        ...clusterSubscriberConnections(cluster),
        ...copy.nodes("all"),
      ];
      expect(connections.length).toBeGreaterThanOrEqual(7);
      expectNoToken(cluster.options, tokens, "cluster.options");
      expectNoToken(copy.options, tokens, "cluster.duplicate().options");
      for (const node of connections) {
        expectNoToken(node.options, tokens, `options of node ${node.options.port}`);
      }
    } finally {
      for (const cluster of clusters) cluster.disconnect();
      await manager.dispose();
    }
  }, 30_000);

  it("a subscriber chosen while no credentials are valid hides the node's old token", async () => {
    // ClusterSubscriber copies a node's options (its password included) into the next
    // subscriber connection; with nothing valid to put in its place the old token stays there.
    const { source, tokens } = recordingSource(fixture, "ok");
    const manager = managerFor(source);
    const cluster = await createCluster(manager, seedNodes(fixture), clusterOptions(fixture));
    try {
      await cluster.subscribe("news");
      source.switchable.mode = "fail";
      await waitFor(
        () => manager.peekCredentials() === undefined,
        "the credentials to lapse",
        15_000,
      );
      const before = new Set(clusterSubscriberConnections(cluster));
      fixture.server.killConnections();
      await waitFor(
        () => clusterSubscriberConnections(cluster).some((connection) => !before.has(connection)),
        "a new subscriber connection",
        10_000,
      );
      for (const connection of clusterSubscriberConnections(cluster)) {
        expectNoToken(connection.options, tokens, "the new subscriber's options");
        // Its handshake may have started before it was bound: what ioredis built for it too.
        const { condition } = connection as unknown as { condition?: unknown };
        expectNoToken(condition, tokens, "the new subscriber's handshake condition");
      }
    } finally {
      cluster.disconnect();
      await manager.dispose();
    }
  }, 40_000);

  it("createCluster for a refused identity rejects with CredentialsRejectedError, no token anywhere", async () => {
    const { source, tokens } = recordingSource(fixture, "wrong-user");
    const manager = managerFor(source);
    try {
      const error = await createCluster(manager, seedNodes(fixture), clusterOptions(fixture)).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(CredentialsRejectedError);
      expect((error as CredentialsRejectedError).username).toBe(WRONG_USER);
      // As standalone: one forced refresh, and its credentials were refused too.
      expect(source.switchable.count("forced")).toBe(1);
      expect((error as Error).cause).toBeDefined();
      expectNoToken(error, tokens, "createCluster's rejection");
    } finally {
      await manager.dispose();
    }
  }, 30_000);
});
