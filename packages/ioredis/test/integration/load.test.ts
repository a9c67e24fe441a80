/**
 * Load: 50 connections — standalone clients and a cluster's node connections, one shared
 * manager — run loops of mixed commands (strings, counters, hashes, lists, pipelines,
 * transactions) across at least 10 rotations while the servers kill every connection three times
 * and a shard of the cluster fails over. No command may fail: ioredis re-sends what was in flight
 * after a reconnect, and the adapter makes every reconnect present current credentials.
 */
import type { TokenManager } from "@redis-credentials/core";
import { waitFor } from "@redis-credentials/test-helpers";
import { startTokenRedis, type TokenCluster } from "@redis-credentials/testing";
import type { Cluster, Redis } from "ioredis";
import { createCluster, createRedis } from "../../src";
import {
  afterRotations,
  clusterOptions,
  describeErrors,
  keySlot,
  keysInEveryShard,
  masterPortOf,
  report,
  runLoop,
} from "./cluster-helpers";
import { type Fixture, rotations, startFixture } from "./helpers";

const ROTATIONS = 10;
/** Tokens living 2 s rotate about every second: 10 rotations in ~10 s. */
const LIFETIME_MS = 2_000;
const SHARDS = 3;
const STANDALONE_CLIENTS = 47;
/** Concurrent loops on the cluster client, one per shard. */
const CLUSTER_LANES = SHARDS;
/** Commands per loop iteration (a pipeline or a transaction counts its commands). */
const COMMANDS_PER_STEP = 13;

let fixture: Fixture;
let clusterServer: TokenCluster;
const clients: (Redis | Cluster)[] = [];

beforeAll(async () => {
  fixture = await startFixture({ tls: false });
  clusterServer = await startTokenRedis({
    identity: fixture.issuer,
    tls: false,
    cluster: { masters: SHARDS, replicasPerMaster: 1 },
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await fixture?.stop();
  await clusterServer?.stop();
});

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** Replies of a pipeline or transaction: throws on the first error, returns the results. */
function results(replies: [Error | null, unknown][] | null): unknown[] {
  check(replies !== null, "a transaction was aborted");
  for (const [error] of replies!) if (error) throw error;
  return replies!.map(([, result]) => result);
}

/** One iteration of mixed commands; every key shares `tag`, so on a cluster they share a slot. */
async function mixedCommands(redis: Redis | Cluster, tag: string, iteration: number) {
  const value = `v${iteration}`;
  const [string, counter, hash, list] = ["s", "n", "h", "l"].map((name) => `{${tag}}:${name}`);
  await redis.set(string!, value);
  check((await redis.get(string!)) === value, "GET did not return the value just SET");
  await redis.incr(counter!);
  await redis.hset(hash!, "field", value);
  await redis.lpush(list!, value);
  const head = await redis.lrange(list!, 0, 0);
  check(head[0] === value, "LRANGE did not return the element just pushed");
  await redis.ltrim(list!, 0, 19);
  const piped = results(
    await redis.pipeline().set(string!, `${value}p`).get(string!).incr(counter!).exec(),
  );
  check(piped[1] === `${value}p`, "a pipelined GET did not return the pipelined SET");
  const transaction = results(
    await redis.multi().hset(hash!, "other", value).hget(hash!, "other").exec(),
  );
  check(transaction[1] === value, "HGET in a transaction did not return the HSET before it");
}

test(`50 connections run mixed commands across ${ROTATIONS} rotations, forced disconnects and a failover with no failed command`, async () => {
  const manager: TokenManager = fixture.manager({ lifetimeMs: LIFETIME_MS });
  let rotated = 0;
  manager.on("refreshed", () => rotated++);

  const cluster = await createCluster(
    manager,
    [{ host: clusterServer.host, port: clusterServer.port }],
    clusterOptions(fixture),
  );
  clients.push(cluster);
  const standalone = await Promise.all(
    Array.from({ length: STANDALONE_CLIENTS }, () => createRedis(manager, fixture.redisOptions())),
  );
  clients.push(...standalone);
  // A hash tag in each shard: lane i works on shard i.
  const shardTags = keysInEveryShard("load", SHARDS, 1).flat();

  const started = Date.now();
  const loops = [
    ...standalone.map((redis, index) =>
      runLoop((iteration) => mixedCommands(redis, `client${index}`, iteration)),
    ),
    ...shardTags.map((tag) => runLoop((iteration) => mixedCommands(cluster, tag, iteration))),
  ];
  const connectionCount = () =>
    fixture.server.connections().length + clusterServer.connections().length;
  expect(loops).toHaveLength(STANDALONE_CLIENTS + CLUSTER_LANES);
  await afterRotations(manager, 1);
  expect(connectionCount()).toBeGreaterThanOrEqual(50);

  // Every connection back before each kill: on a loaded machine the reconnects after the last
  // kill or failover may still be under way, and a kill would find fewer than 50 to close.
  const killAll = async () => {
    await waitFor(() => connectionCount() >= 50, "every connection back before a kill", 20_000);
    return fixture.server.killConnections() + clusterServer.killConnections();
  };
  const killed: number[] = [];
  await rotations(manager, 1);
  killed.push(await killAll());
  await rotations(manager, 2);
  killed.push(await killAll());
  await rotations(manager, 1);
  await clusterServer.failover(0);
  // Shard 0's replica (listed after the masters) serves its slots now.
  expect(await masterPortOf(cluster, keySlot(`{${shardTags[0]}}`))).toBe(
    clusterServer.nodes[SHARDS]!.port,
  );
  await rotations(manager, 1);
  killed.push(await killAll());
  const progressAtLastKill = loops.map((loop) => loop.succeeded);
  const remaining = Math.max(1, ROTATIONS + 1 - rotated);
  await afterRotations(manager, remaining);
  await Promise.all(loops.map((loop) => loop.stop()));
  const seconds = (Date.now() - started) / 1000;

  const errors = loops.flatMap((loop) => loop.errors);
  expect(describeErrors(errors).slice(0, 10)).toEqual([]);
  expect(errors).toHaveLength(0);
  // The initial credentials and at least ROTATIONS new ones, all while the loops ran.
  expect(rotated).toBeGreaterThanOrEqual(ROTATIONS + 1);
  for (const count of killed) expect(count).toBeGreaterThanOrEqual(50);
  // Every loop, and so every connection, worked again after the last forced disconnect.
  loops.forEach((loop, index) => {
    expect(loop.succeeded).toBeGreaterThan(progressAtLastKill[index]!);
  });
  const now = Date.now();
  const live = [...fixture.server.connections(), ...clusterServer.connections()];
  expect(live.length).toBeGreaterThanOrEqual(50);
  for (const connection of live) expect(connection.expiresAt).toBeGreaterThan(now);
  for (const server of [fixture.server, clusterServer]) {
    const stats = server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    // No (re)connect presented an expired token.
    expect(stats.authRejected).toEqual({});
  }

  const commands = loops.reduce((sum, loop) => sum + loop.succeeded, 0) * COMMANDS_PER_STEP;
  report("load", {
    connections: live.length,
    rotations: rotated - 1,
    killed,
    commands,
    seconds,
    commandsPerSecond: Math.round(commands / seconds),
  });
}, 90_000);
