/**
 * The adapter on a Redis Cluster: every node connection node-redis makes — masters, replicas it
 * reads from (`useReplicas`), nodes it connects to later (`minimizeConnections`, a failover's
 * promoted node) and the pub/sub connections of `subscribe`/`pSubscribe`/`sSubscribe` — keeps its
 * token fresh: one AUTH per connection per rotation, before the old token expires, so the server
 * never closes one at expiry and no command fails. RESP3 pub/sub connections re-AUTH in place and
 * lose nothing; RESP2 ones are reconnected and resubscribed at each rotation.
 */
import type { TokenManager } from "@redis-credentials/core";
import type { RedisClusterType } from "redis";
import { createCluster } from "../../src";
import {
  authsBetween,
  clusterOf,
  clusterOptions,
  collectErrors,
  connectionsOf,
  countRotations,
  expectCleanServer,
  expectNoErrors,
  keySlot,
  keysInEveryShard,
  longestStallMs,
  quietAfterRotation,
  report,
  runLoop,
  SETTLE_MS,
  snapshot,
  Users,
  untilAllHoldCurrentToken,
  waitFor,
} from "./cluster-helpers";
import { type Fixture, nodeRedisMajor, rotations, sleep, startFixture } from "./helpers";

type Cluster = RedisClusterType<any, any, any, any, any>;

const SHARDS = 3;
const ROTATIONS = 4;
/**
 * A rotation about every 2 s, as with the other suites' tokens, but tokens that live 4 s and are
 * renewed 2 s before they expire: the two TLS clusters' proxies run in this process along with
 * the clients, and on a loaded machine its event loop was seen to stall for 1.4 s, longer than
 * the 1 s margin of 3-s tokens (every connection must still be re-authenticated long before the
 * old token expires: the manager spreads the AUTHs over 200 ms).
 */
const TOKENS = { lifetimeMs: 4_000, refreshBeforeExpiryMs: 2_000 };
/** The failover cluster: smaller, and over plain TCP (`allowInsecureTransport`). */
const FAILOVER_SHARDS = 2;

/** A TLS cluster (as on Azure), 3 shards with one replica each, shared by the tests that cannot disturb each other. */
let fixture: Fixture;
/** A cluster of its own for the failover, which changes the topology under every client. */
let failoverFixture: Fixture;
let users: Users;
let failoverUsers: Users;
const clusters: Cluster[] = [];

beforeAll(async () => {
  [fixture, failoverFixture] = await Promise.all([
    startFixture({ tls: true, cluster: { masters: SHARDS, replicasPerMaster: 1 } }),
    startFixture({ tls: false, cluster: { masters: FAILOVER_SHARDS, replicasPerMaster: 1 } }),
  ]);
  users = new Users(fixture.issuer);
  failoverUsers = new Users(failoverFixture.issuer);
}, 60_000);

afterAll(async () => {
  for (const cluster of clusters) if (cluster.isOpen) cluster.destroy();
  await users?.dispose();
  await failoverUsers?.dispose();
  await fixture?.stop();
  await failoverFixture?.stop();
});

/** A connected cluster client of `manager`; every error it reports (its own and its nodes') is kept. */
async function connect(
  target: Fixture,
  manager: TokenManager,
  extra: Parameters<typeof clusterOptions>[1] = {},
): Promise<{ cluster: Cluster; errors: Error[] }> {
  const cluster: Cluster = createCluster(manager, clusterOptions(target.server, extra));
  const errors = collectErrors(cluster, ["error", "node-error"]);
  clusters.push(cluster);
  await cluster.connect();
  return { cluster, errors };
}

/** The port of the master that serves `slot`, as the cluster client sees it. */
function masterPortOf(cluster: Cluster, slot: number): number {
  return cluster.slots[slot]!.master.port;
}

/** Keys on every shard (`perShard` each), checked against the client's slot map: one distinct master per shard. */
function keysOnEveryMaster(cluster: Cluster, prefix: string, shards: number, perShard: number) {
  const byShard = keysInEveryShard(prefix, shards, perShard);
  const masters = byShard.map((keys) => masterPortOf(cluster, keySlot(keys[0]!)));
  expect(new Set(masters).size).toBe(shards);
  return byShard.flat();
}

/**
 * INCRs keys in a loop (one command at a time) and reads each back — with `useReplicas`, from
 * the replica of its shard, through that replica's own (READONLY) connection — keeping count, so
 * a test can check every write landed exactly once.
 */
function incrementLoop(cluster: Cluster, keys: string[], options: { fromReplicas?: boolean } = {}) {
  const counts = new Map(keys.map((key) => [key, 0]));
  let replicaReads = 0;
  const loop = runLoop(async (iteration) => {
    const key = keys[iteration % keys.length]!;
    await cluster.incr(key);
    counts.set(key, counts.get(key)! + 1);
    const replica = cluster.slots[keySlot(key)]!.replicas?.[0];
    const reader = options.fromReplicas && replica ? await cluster.nodeClient(replica) : cluster;
    // A replica may lag behind: any count will do, but the read must succeed.
    const read = await reader.get(key);
    if (read !== null && !/^\d+$/.test(String(read))) throw new Error(`GET ${key}: ${read}`);
    if (reader !== cluster) replicaReads++;
  });
  return {
    loop,
    get replicaReads() {
      return replicaReads;
    },
    async expectEveryWriteLanded() {
      const values = await Promise.all(keys.map((key) => cluster.incrBy(key, 0)));
      expect(values).toEqual(keys.map((key) => counts.get(key)));
      expect(loop.succeeded).toBeGreaterThan(keys.length);
    },
  };
}

type Kind = "channel" | "pattern" | "shard";

/**
 * Subscribes a cluster of its own user to a channel, a pattern and one shard channel per shard,
 * publishes to each of them every ~5 ms from another cluster across ROTATIONS rotations, and
 * reports what arrived and what the server saw of the subscriber's connections.
 */
async function clusterPubSubAcrossRotations(RESP: 2 | 3) {
  const subscriberUser = users.create(TOKENS);
  const publisherUser = users.create(TOKENS);
  const { user, manager } = subscriberUser;
  const subscriber = await connect(fixture, manager, { RESP });
  const publisher = await connect(fixture, publisherUser.manager);
  const channel = `news:${user}`;
  const patternChannel = `alerts:${user}:eu`;
  const shardChannels = keysInEveryShard(`orders:${user}`, SHARDS, 1).flat();
  const destinations: { kind: Kind; name: string }[] = [
    { kind: "channel", name: channel },
    { kind: "pattern", name: patternChannel },
    ...shardChannels.map((name) => ({ kind: "shard" as const, name })),
  ];
  /** Arrival time of every message, by destination. */
  const arrivals = new Map(destinations.map(({ name }) => [name, new Map<number, number>()]));
  const duplicates: string[] = [];
  const onMessage = (message: string, name: string) => {
    const seen = arrivals.get(name);
    if (seen === undefined) throw new Error(`message on ${name}, which nobody subscribed to`);
    if (seen.has(Number(message))) duplicates.push(`${name}#${message}`);
    seen.set(Number(message), Date.now());
  };
  await subscriber.cluster.subscribe(channel, onMessage);
  await subscriber.cluster.pSubscribe(`alerts:${user}:*`, onMessage);
  for (const name of shardChannels) await subscriber.cluster.sSubscribe(name, onMessage);
  // Three node connections, the pub/sub connection, one sharded pub/sub connection per shard.
  await waitFor(
    () => connectionsOf(fixture.server, user).length === 2 * SHARDS + 1,
    "the subscriber's node and pub/sub connections",
  );
  const published = new Map(destinations.map(({ name }) => [name, [] as number[]]));
  const publishing = runLoop(async (n) => {
    await Promise.all(
      destinations.map(async ({ kind, name }) => {
        await (kind === "shard"
          ? publisher.cluster.sPublish(name, String(n))
          : publisher.cluster.publish(name, String(n)));
        published.get(name)!.push(n);
      }),
    );
  }, 5);

  const connections = 2 * SHARDS + 1;
  await rotations(manager, 1);
  const before = snapshot(
    await untilAllHoldCurrentToken(fixture.server, user, manager, connections),
  );
  const counted = countRotations(manager);
  await rotations(manager, ROTATIONS);
  const after = await untilAllHoldCurrentToken(fixture.server, user, manager, connections);
  // Rotations between the two quiet moments (more than ROTATIONS if a wait outlasted one).
  const rotated = counted.at.length;
  // Messages after the last rotation's AUTHs or reconnects.
  await sleep(500);
  counted.stop();
  await publishing.stop();
  const end = Date.now();
  // The last messages cross the cluster bus (those lost in a reconnect never come).
  const received = () => [...arrivals.values()].reduce((sum, seen) => sum + seen.size, 0);
  const sent = () => [...published.values()].reduce((sum, ns) => sum + ns.length, 0);
  for (let last = -1; received() < sent() && received() !== last; ) {
    last = received();
    await sleep(100);
  }

  expectNoErrors(publishing.errors);
  expect(duplicates).toEqual([]);
  expect(rotated).toBeGreaterThanOrEqual(ROTATIONS);
  const lost = Object.fromEntries(
    destinations.map(({ name }) => [
      name,
      published.get(name)!.filter((n) => !arrivals.get(name)!.has(n)).length,
    ]),
  );
  // Messages arrive on every destination after every rotation, once its AUTHs or reconnects are done.
  const arrivedAfterEachRotation = counted.at.map((at, index) => {
    const until = counted.at[index + 1] ?? end;
    return destinations.map(
      ({ name }) =>
        [...arrivals.get(name)!.values()].filter((time) => time >= at + SETTLE_MS && time < until)
          .length,
    );
  });
  for (const counts of arrivedAfterEachRotation) {
    for (const count of counts) expect(count).toBeGreaterThan(0);
  }
  /** Per rotation and destination, the longest silence around the rotation's AUTHs or reconnects. */
  const gapsMs = counted.at.map((at) =>
    Math.max(
      ...destinations.map(({ name }) => {
        const times = [...arrivals.get(name)!.values()]
          .filter((time) => time >= at - 100 && time < at + SETTLE_MS + 100)
          .sort((a, b) => a - b);
        return times.slice(1).reduce((gap, time, i) => Math.max(gap, time - times[i]!), 0);
      }),
    ),
  );
  return {
    user,
    destinations,
    published: Math.min(...[...published.values()].map((ns) => ns.length)),
    lost,
    gapsMs,
    auths: authsBetween(before, after),
    rotated,
    /** Rotations while publishing: the counted ones and the one before them. */
    rotationsWhilePublishing: counted.at.length + 1,
    before,
    after,
    errors: [...subscriber.errors, ...publisher.errors],
  };
}

// Every test runs at once (jest runs the concurrent tests of one describe block together).
describe("createCluster", () => {
  test.concurrent(`every node connection, masters and replicas (useReplicas), sends exactly one AUTH per rotation across ${ROTATIONS} rotations while commands on every shard succeed`, async () => {
    const { user, manager } = users.create(TOKENS);
    const { cluster, errors } = await connect(fixture, manager, { useReplicas: true });
    expect(cluster.masters).toHaveLength(SHARDS);
    expect(cluster.replicas).toHaveLength(SHARDS);
    const keys = keysOnEveryMaster(cluster, `rotation:${user}`, SHARDS, 16);
    await Promise.all(keys.map((key) => cluster.del(key)));
    // node-redis connects to every node it reads from: one connection per node, replicas included.
    const nodePorts = fixture.server.nodes.map((node) => node.port).sort();
    await waitFor(
      () => connectionsOf(fixture.server, user).length === nodePorts.length,
      "a connection to every node",
    );
    expect(
      connectionsOf(fixture.server, user)
        .map((c) => c.port)
        .sort(),
    ).toEqual(nodePorts);
    const writes = incrementLoop(cluster, keys, { fromReplicas: true });

    await rotations(manager, 1);
    const settled = () => untilAllHoldCurrentToken(fixture.server, user, manager, nodePorts.length);
    const before = snapshot(await settled());
    const counted = countRotations(manager);
    await rotations(manager, ROTATIONS);
    const after = await settled();
    // Rotations between the two quiet moments (more than asked if a wait outlasted one).
    const rotated = counted.at.length;
    counted.stop();
    await writes.loop.stop();

    expectNoErrors(writes.loop.errors);
    await writes.expectEveryWriteLanded();
    // Every read went to a replica.
    expect(writes.replicaReads).toBe(writes.loop.succeeded);
    expect(rotated).toBeGreaterThanOrEqual(ROTATIONS);
    // The same connections throughout, each re-authenticated once per rotation, never more.
    const auths = authsBetween(before, after);
    expect(after).toHaveLength(nodePorts.length);
    expect(
      auths
        .map(({ port, survived, attempts, successes }) => ({ port, survived, attempts, successes }))
        .sort((a, b) => a.port - b.port),
    ).toEqual(
      nodePorts.map((port) => ({ port, survived: true, attempts: rotated, successes: rotated })),
    );
    const now = Date.now();
    for (const connection of after) expect(connection.expiresAt).toBeGreaterThan(now);
    expectNoErrors(errors);
    expectCleanServer(fixture.server);
    report(`node-redis ${nodeRedisMajor} cluster rotation`, {
      eventLoopStallMaxMs: longestStallMs(),
      writesAndReplicaReads: writes.loop.succeeded,
      connections: after.length,
    });
  });

  test.concurrent("node connections made after the first token expired (minimizeConnections) authenticate with current credentials and re-AUTH at every rotation", async () => {
    const { user, manager } = users.create(TOKENS);
    const { cluster, errors } = await connect(fixture, manager, { minimizeConnections: true });
    // Only the discovery connection was made, and node-redis closed it: no node connection yet.
    await waitFor(
      () => connectionsOf(fixture.server, user).length === 0,
      "the discovery connection to close",
    );
    const keys = keysOnEveryMaster(cluster, `lazy:${user}`, SHARDS, 4);
    // The token of the cluster's first connect expires.
    const firstExpiry = manager.status().expiresAt!;
    await rotations(manager, 2);
    await sleep(Math.max(0, firstExpiry - Date.now()));
    // First commands to each shard: node-redis connects to its master now.
    await Promise.all(keys.map((key) => cluster.set(key, "0")));
    const first = connectionsOf(fixture.server, user);
    expect(first.map((c) => c.port).sort()).toEqual(
      [...new Set(keys.map((key) => masterPortOf(cluster, keySlot(key))))].sort(),
    );
    for (const connection of first) expect(connection.authSuccesses).toBe(1);
    const writes = incrementLoop(cluster, keys);

    await rotations(manager, 1);
    const settled = () => untilAllHoldCurrentToken(fixture.server, user, manager, SHARDS);
    const before = snapshot(await settled());
    const counted = countRotations(manager);
    await rotations(manager, 2);
    const after = await settled();
    // Rotations between the two quiet moments (more than asked if a wait outlasted one).
    const rotated = counted.at.length;
    counted.stop();
    await writes.loop.stop();

    expectNoErrors(writes.loop.errors);
    await writes.expectEveryWriteLanded();
    expect(rotated).toBeGreaterThanOrEqual(2);
    expect(after).toHaveLength(SHARDS);
    for (const { survived, attempts, successes } of authsBetween(before, after)) {
      expect({ survived, attempts, successes }).toEqual({
        survived: true,
        attempts: rotated,
        successes: rotated,
      });
    }
    expectNoErrors(errors);
    expectCleanServer(fixture.server);
  });
  test.concurrent(`RESP3: subscribe, pSubscribe and sSubscribe on every shard lose no message across ${ROTATIONS} rotations; their connections re-AUTH in place once per rotation`, async () => {
    const result = await clusterPubSubAcrossRotations(3);

    expect(result.published).toBeGreaterThan(300);
    expect(result.lost).toEqual(
      Object.fromEntries(result.destinations.map(({ name }) => [name, 0])),
    );
    // Every connection of the subscriber — node and pub/sub ones — is the one it had before,
    // with exactly one AUTH per rotation.
    expect(result.after).toHaveLength(result.before.size);
    for (const { survived, attempts, successes } of result.auths) {
      expect({ survived, attempts, successes }).toEqual({
        survived: true,
        attempts: result.rotated,
        successes: result.rotated,
      });
    }
    expectNoErrors(result.errors);
    expectCleanServer(fixture.server);
    report(`node-redis ${nodeRedisMajor} cluster pub/sub RESP3`, {
      eventLoopStallMaxMs: longestStallMs(),
      publishedPerDestination: result.published,
      lost: Object.values(result.lost),
      maxGapMsPerRotation: result.gapsMs,
    });
  });

  test.concurrent(`RESP2: the pub/sub connections are reconnected and resubscribed before every expiry across ${ROTATIONS} rotations, and keep receiving`, async () => {
    const result = await clusterPubSubAcrossRotations(2);

    expect(result.published).toBeGreaterThan(300);
    // The node connections re-AUTH in place, once per rotation; the pub/sub connections (one
    // for subscribe and pSubscribe, one per shard) cannot, and were replaced.
    const kept = result.auths.filter(({ survived }) => survived);
    const replaced = result.auths.filter(({ survived }) => !survived);
    expect(kept).toHaveLength(SHARDS);
    for (const { attempts, successes } of kept) {
      expect({ attempts, successes }).toEqual({
        attempts: result.rotated,
        successes: result.rotated,
      });
    }
    expect(replaced).toHaveLength(SHARDS + 1);
    expect(result.after).toHaveLength(result.before.size);
    const now = Date.now();
    for (const connection of result.after) expect(connection.expiresAt).toBeGreaterThan(now);
    // The new pub/sub connections were authenticated by their handshake alone: no AUTH sent
    // where Redis refuses it.
    const fresh = result.after.filter((connection) => !result.before.has(connection.id));
    expect(fresh).toHaveLength(SHARDS + 1);
    for (const connection of fresh) expect(connection.authAttempts).toBe(1);
    // What the reconnects lose is a small share.
    const lost = Object.values(result.lost);
    for (const count of lost) expect(count).toBeLessThan(result.published / 10);
    // The adapter's QUITs never reach the user as errors.
    expectNoErrors(result.errors);
    expectCleanServer(fixture.server);
    // Each destination's connection was reconnected at every rotation while publishing: the
    // counted ones and the one before them.
    const reconnectsPerConnection = result.rotationsWhilePublishing;
    report(`node-redis ${nodeRedisMajor} cluster pub/sub RESP2`, {
      eventLoopStallMaxMs: longestStallMs(),
      publishedPerDestination: result.published,
      lost,
      pubSubConnections: replaced.length,
      reconnectsPerConnection,
      lostPerReconnect: +(
        lost.reduce((sum, n) => sum + n, 0) /
        (lost.length * reconnectsPerConnection)
      ).toFixed(1),
      maxGapMsPerRotation: result.gapsMs,
    });
  });

  test.concurrent("the promoted node's connection is authenticated and re-AUTHs at every later rotation while commands on every shard keep succeeding", async () => {
    const { user, manager } = failoverUsers.create(TOKENS);
    const server = failoverFixture.server;
    const { cluster, errors } = await connect(failoverFixture, manager);
    const keys = keysOnEveryMaster(cluster, `failover:${user}`, FAILOVER_SHARDS, 8);
    await Promise.all(keys.map((key) => cluster.del(key)));
    const writes = incrementLoop(cluster, keys);
    await quietAfterRotation(manager);

    const shard0Slot = keySlot(keys[0]!);
    const oldMaster = masterPortOf(cluster, shard0Slot);
    await clusterOf(failoverFixture).failover(0);
    // The shard's replica (listed after the masters) now serves its slots.
    const promoted = server.nodes[FAILOVER_SHARDS]!.port;
    expect(promoted).not.toBe(oldMaster);
    await cluster.incr(keys[0]!);
    await cluster.decr(keys[0]!);
    expect(masterPortOf(cluster, shard0Slot)).toBe(promoted);
    const onPromoted = connectionsOf(server, user).filter((c) => c.port === promoted);
    expect(onPromoted).toHaveLength(1);
    expect(onPromoted[0]!.authSuccesses).toBeGreaterThanOrEqual(1);

    await rotations(manager, 1);
    const settled = () => untilAllHoldCurrentToken(server, user, manager, FAILOVER_SHARDS);
    const before = snapshot(await settled());
    const counted = countRotations(manager);
    await rotations(manager, 3);
    const after = await settled();
    // Rotations between the two quiet moments (more than asked if a wait outlasted one).
    const rotated = counted.at.length;
    counted.stop();
    await writes.loop.stop();

    expectNoErrors(writes.loop.errors);
    await writes.expectEveryWriteLanded();
    expect(rotated).toBeGreaterThanOrEqual(3);
    // One connection per master, the promoted one among them; the old master's is gone.
    expect(after.map((c) => c.port).sort()).toEqual(
      cluster.masters.map((master) => master.port).sort(),
    );
    expect(after.map((c) => c.port)).toContain(promoted);
    expect(after.map((c) => c.port)).not.toContain(oldMaster);
    for (const { survived, attempts, successes } of authsBetween(before, after)) {
      expect({ survived, attempts, successes }).toEqual({
        survived: true,
        attempts: rotated,
        successes: rotated,
      });
    }
    expectNoErrors(errors);
    expectCleanServer(server);
  });
});
