/**
 * A cluster's pub/sub connections live outside `cluster.nodes()`: the subscriber of
 * `cluster.subscribe` and, with `shardedSubscribers: true`, one sharded subscriber per shard.
 * They must keep receiving across rotations and never be closed at expiry. On ioredis 6 (RESP3)
 * they re-AUTH in place and lose nothing; on ioredis 5 (RESP2 only) they cannot send AUTH, so
 * they are reconnected and resubscribed before their token expires — a few messages published
 * during a reconnect may be lost, but messages keep arriving after every rotation.
 * iovalkey (RESP2, like ioredis 5) has no `shardedSubscribers`: its one cluster subscriber cannot
 * SSUBSCRIBE to channels of other shards (MOVED), so the sharded tests are ioredis-only there.
 */
import type { TokenManager } from "@redis-credentials/core";
import type { Cluster } from "ioredis";
import { createCluster } from "../../src";
import {
  clusterOptions,
  connectionsOf,
  describeErrors,
  keysInEveryShard,
  report,
  runLoop,
  seedNodes,
  Users,
} from "./cluster-helpers";
import {
  type Fixture,
  fastRotation,
  iovalkey,
  resp3Available,
  rotations,
  sleep,
  startFixture,
} from "./helpers";

const SHARDS = 3;
const ROTATIONS = 4;
/** How long after a rotation messages must be flowing again (the AUTHs or reconnects are spread over reauthSpreadMs). */
const SETTLE_MS = (fastRotation.reauthSpreadMs ?? 0) + 300;

let fixture: Fixture;
let users: Users;
const clients: Cluster[] = [];

beforeAll(async () => {
  fixture = await startFixture({ tls: false, cluster: { masters: SHARDS } });
  users = new Users(fixture.issuer);
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await users?.dispose();
  await fixture?.stop();
});

async function connect(
  manager: TokenManager,
  extra: Parameters<typeof clusterOptions>[1] = {},
): Promise<Cluster> {
  const cluster = await createCluster(manager, seedNodes(fixture), clusterOptions(fixture, extra));
  clients.push(cluster);
  return cluster;
}

/**
 * Publishes numbered messages (round-robin over `channels`) until the subscriber's manager has
 * rotated ROTATIONS times, then checks what arrived: no duplicate, none lost on RESP3, and
 * messages arriving on every channel after every rotation. With `killFirst`, the subscriber's
 * connections are killed once the first token has expired (two rotations in), and the
 * ROTATIONS - 1 rotations counted are those after it: the pub/sub connections ioredis makes again
 * must be bound too.
 *
 * One duplicate is the server's, not ours: a killed cluster subscriber is made again on a node
 * picked at random, and Redis Cluster forwards a PUBLISH to the other nodes over the cluster bus,
 * late on a loaded machine, so the new node may deliver a message the old one had already
 * delivered. Such a message was first received before the subscriber was back; a rotation comes
 * later and must cause none.
 */
async function publishAcrossRotations(options: {
  label: string;
  subscriber: { user: string; manager: TokenManager };
  channels: string[];
  publish: (channel: string, message: string) => Promise<unknown>;
  /** Registers the callback for every message the subscriber receives. */
  onMessage: (callback: (channel: string, message: string) => void) => void;
  killFirst?: boolean;
}) {
  const { label, subscriber, channels } = options;
  const arrivals = new Map<string, number>();
  const duplicates: { message: string; firstArrivedAt: number }[] = [];
  options.onMessage((channel, message) => {
    expect(message.startsWith(`${channel}#`)).toBe(true);
    const firstArrivedAt = arrivals.get(message);
    if (firstArrivedAt !== undefined) duplicates.push({ message, firstArrivedAt });
    else arrivals.set(message, Date.now());
  });
  const published: string[] = [];
  const publishing = runLoop(async (iteration) => {
    const channel = channels[iteration % channels.length]!;
    const message = `${channel}#${iteration}`;
    await options.publish(channel, message);
    published.push(message);
  }, 3);
  let killed = 0;
  let counted = ROTATIONS;
  /** When the killed subscriber was heard on every channel again. */
  let backAt = 0;
  if (options.killFirst) {
    await rotations(subscriber.manager, 2);
    await sleep(SETTLE_MS);
    const killedAt = Date.now();
    killed = fixture.server.killConnections({ user: subscriber.user });
    expect(killed).toBeGreaterThanOrEqual(2);
    // Back on every channel, on connections ioredis made again.
    const heardSinceKill = () =>
      channels.every((channel) =>
        [...arrivals].some(([message, at]) => at > killedAt && message.startsWith(`${channel}#`)),
      );
    for (let waited = 0; waited < 5_000 && !heardSinceKill(); waited += 20) await sleep(20);
    expect(heardSinceKill()).toBe(true);
    backAt = Date.now();
    counted = ROTATIONS - 1;
  }
  const rotatedAt: number[] = [];
  const onRefreshed = () => rotatedAt.push(Date.now());
  subscriber.manager.on("refreshed", onRefreshed);
  const connectionsBefore = new Map(
    connectionsOf(fixture.server, subscriber.user).map((connection) => [connection.id, connection]),
  );

  await rotations(subscriber.manager, counted);
  await sleep(SETTLE_MS + 700);
  await publishing.stop();
  subscriber.manager.off("refreshed", onRefreshed);
  // Let the last messages cross the cluster bus.
  for (let waited = 0; waited < 2_000 && arrivals.size < published.length; waited += 50) {
    await sleep(50);
  }
  const end = Date.now();

  expect(describeErrors(publishing.errors)).toEqual([]);
  // Before the kill's subscriber was back: the cluster bus's re-delivery (see above).
  const redelivered = duplicates.filter(({ firstArrivedAt }) => firstArrivedAt < backAt);
  expect(duplicates.filter((duplicate) => !redelivered.includes(duplicate))).toEqual([]);
  const lost = published.filter((message) => !arrivals.has(message));
  // Nothing arrives that was not published.
  expect(arrivals.size).toBe(published.length - lost.length);
  // Messages arrive after every rotation, once its AUTHs (or reconnects) are done, and on every
  // channel after the last one.
  expect(rotatedAt).toHaveLength(counted);
  const arrivedAfterEachRotation = rotatedAt.map((at, index) => {
    const until = rotatedAt[index + 1] ?? end;
    return [...arrivals.values()].filter((time) => time >= at + SETTLE_MS && time < until).length;
  });
  for (const count of arrivedAfterEachRotation) expect(count).toBeGreaterThan(0);
  const settledAt = rotatedAt[counted - 1]! + SETTLE_MS;
  const channelsHeardLast = channels.filter((channel) =>
    [...arrivals].some(([message, time]) => time >= settledAt && message.startsWith(`${channel}#`)),
  );
  expect(channelsHeardLast).toEqual(channels);

  const connectionsAfter = connectionsOf(fixture.server, subscriber.user);
  if (resp3Available) {
    // RESP3: re-AUTH in place. Every connection lived through every rotation (counted)...
    for (const connection of connectionsAfter) {
      const before = connectionsBefore.get(connection.id);
      expect(before).toBeDefined();
      expect(connection.authSuccesses - before!.authSuccesses).toBeGreaterThanOrEqual(counted);
    }
    expect(connectionsAfter).toHaveLength(connectionsBefore.size);
    // ...and lost nothing (what a kill loses is not the adapter's doing).
    if (!options.killFirst) expect(lost).toEqual([]);
  }
  // RESP2: reconnected at each rotation; what a reconnect (or the kill) loses is a small share.
  expect(lost.length).toBeLessThan(published.length / 10);
  const now = Date.now();
  for (const connection of connectionsAfter) expect(connection.expiresAt).toBeGreaterThan(now);
  const stats = fixture.server.stats();
  expect(stats.closedAtExpiry).toBe(0);
  // No (re)connect presented an expired token.
  expect(stats.authRejected).toEqual({});
  // No AUTH was sent where Redis would not apply it (RESP2 subscriber mode refuses it).
  expect(stats.authNotApplied).toEqual({});
  report(label, {
    published: published.length,
    lost: lost.length,
    killed,
    arrivedAfterEachRotation,
    subscriberConnections: connectionsAfter.length,
    redeliveredByTheClusterBus: redelivered.length,
  });
}

describe("cluster pub/sub across rotations", () => {
  test.concurrent(`cluster.subscribe keeps receiving across ${ROTATIONS} rotations and is never closed at expiry`, async () => {
    const subscriber = users.create();
    const publisherUser = users.create();
    const subscriberCluster = await connect(subscriber.manager);
    const publisher = await connect(publisherUser.manager);
    const channels = ["news", "sport"];
    await subscriberCluster.subscribe(...channels);
    await publishAcrossRotations({
      label: "cluster.subscribe",
      subscriber,
      channels,
      publish: (channel, message) => publisher.publish(channel, message),
      onMessage: (callback) => subscriberCluster.on("message", callback),
    });
  });

  // iovalkey has no sharded subscribers (see the top of this file): defined for ioredis only.
  if (!iovalkey) {
    test.concurrent(`sharded subscribers (shardedSubscribers: true) keep receiving on every shard across ${ROTATIONS} rotations`, async () => {
      const subscriber = users.create();
      const publisherUser = users.create();
      const subscriberCluster = await connect(subscriber.manager, { shardedSubscribers: true });
      const publisher = await connect(publisherUser.manager);
      // One shard channel in each shard's slot range.
      const channels = keysInEveryShard("shard-news", SHARDS, 1).flat();
      for (const channel of channels) await subscriberCluster.ssubscribe(channel);
      expect(connectionsOf(fixture.server, subscriber.user).length).toBeGreaterThanOrEqual(SHARDS);
      await publishAcrossRotations({
        label: "cluster.ssubscribe",
        subscriber,
        channels,
        publish: (channel, message) => publisher.spublish(channel, message),
        onMessage: (callback) => subscriberCluster.on("smessage", callback),
      });
    });
  }

  test.concurrent(`pub/sub connections made again after the server killed them are bound: ${ROTATIONS - 1} more rotations`, async () => {
    const subscriber = users.create();
    const publisherUser = users.create();
    const subscriberCluster = await connect(subscriber.manager, { shardedSubscribers: true });
    const publisher = await connect(publisherUser.manager);
    // A channel of the pub/sub subscriber, and a shard channel in each shard (but iovalkey's).
    const shardChannels = iovalkey ? [] : keysInEveryShard("shard-alerts", SHARDS, 1).flat();
    await subscriberCluster.subscribe("alerts");
    for (const channel of shardChannels) await subscriberCluster.ssubscribe(channel);
    await publishAcrossRotations({
      label: "killed subscribers",
      subscriber,
      channels: ["alerts", ...shardChannels],
      publish: (channel, message) =>
        channel === "alerts"
          ? publisher.publish(channel, message)
          : publisher.spublish(channel, message),
      onMessage: (callback) => {
        subscriberCluster.on("message", callback);
        subscriberCluster.on("smessage", callback);
      },
      killFirst: true,
    });
  });
});
