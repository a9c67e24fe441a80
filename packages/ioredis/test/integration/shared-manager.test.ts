/**
 * One token manager shared by 200 connections — standalone clients and a cluster's node
 * connections, on two servers that trust the same identity — fetches once per rotation, not once
 * per connection, and every connection gets each new token before the old one expires.
 */
import type { TokenManager } from "@redis-credentials/core";
import { startTokenRedis, type TokenRedis } from "@redis-credentials/testing";
import type { Cluster, Redis } from "ioredis";
import { createCluster, createRedis } from "../../src";
import {
  afterRotations,
  clusterOptions,
  describeErrors,
  keysInEveryShard,
  report,
} from "./cluster-helpers";
import { type Fixture, startFixture } from "./helpers";

const CONNECTIONS = 200;
const SHARDS = 3;
const ROTATIONS = 3;

let fixture: Fixture;
let clusterServer: TokenRedis;
let manager: TokenManager;
const clients: (Redis | Cluster)[] = [];

beforeAll(async () => {
  fixture = await startFixture({ tls: false });
  // The same identity as the standalone server: one token works on both.
  clusterServer = await startTokenRedis({
    identity: fixture.issuer,
    tls: false,
    cluster: { masters: SHARDS },
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await fixture?.stop();
  await clusterServer?.stop();
});

test(`one manager shared by ${CONNECTIONS} standalone and cluster connections fetches once per rotation`, async () => {
  // 6-s tokens refreshed 3 s before expiry: each of the 200 re-AUTHs has seconds to land. With
  // the usual 3-s tokens the margin is under a second, which a stall of a loaded 2-core CI
  // machine outlasted: connections closed at expiry and came back as new ones.
  manager = fixture.manager({ lifetimeMs: 6_000, refreshBeforeExpiryMs: 3_000 });
  let refreshed = 0;
  /** Fetches started by the time of each `refreshed` event: none may be in flight unseen. */
  const fetchesAtRefresh: number[] = [];
  manager.on("refreshed", () => {
    refreshed++;
    fetchesAtRefresh.push(manager.status().counters.fetches);
  });

  // A cluster whose node connections serve every shard, then standalone clients up to 200.
  const cluster = await createCluster(
    manager,
    [{ host: clusterServer.host, port: clusterServer.port }],
    clusterOptions(fixture),
  );
  clients.push(cluster);
  const shardKeys = keysInEveryShard("shared", SHARDS, 1).flat();
  await Promise.all(shardKeys.map((key) => cluster.set(key, "0")));
  const clusterConnections = clusterServer.connections().length;
  expect(clusterConnections).toBeGreaterThanOrEqual(SHARDS);
  const standalone = await Promise.all(
    Array.from({ length: CONNECTIONS - clusterConnections }, () =>
      createRedis(manager, fixture.redisOptions()),
    ),
  );
  clients.push(...standalone);
  const connections = () => [...fixture.server.connections(), ...clusterServer.connections()];
  expect(connections()).toHaveLength(CONNECTIONS);
  expect(manager.status().counters.subscribers).toBeGreaterThanOrEqual(CONNECTIONS);
  const authsBefore = new Map(connections().map((connection) => [connection.id, connection]));

  const errors: unknown[] = [];
  const useEveryConnection = () =>
    Promise.all([
      ...standalone.map((redis) => redis.incr("shared-counter")),
      ...shardKeys.map((key) => cluster.incr(key)),
    ]).catch((error) => errors.push(error));
  const refreshedBefore = refreshed;
  for (let rotation = 0; rotation < ROTATIONS; rotation++) {
    await afterRotations(manager, 1);
    await useEveryConnection();
  }

  expect(describeErrors(errors)).toEqual([]);
  // One fetch for the first credentials, then one per rotation, for all 200 connections: at
  // the n-th new credentials, n fetches had been made.
  expect(refreshed - refreshedBefore).toBeGreaterThanOrEqual(ROTATIONS);
  expect(fetchesAtRefresh).toEqual(fetchesAtRefresh.map((_, index) => index + 1));
  const { fetches } = manager.status().counters;
  expect(fetches - refreshed).toBeLessThanOrEqual(1); // at most the next one, in flight
  // Every connection lived through every rotation, re-authenticated each time.
  const after = connections();
  expect(after).toHaveLength(CONNECTIONS);
  const reauths = after.map(
    (connection) => connection.authSuccesses - (authsBefore.get(connection.id)?.authSuccesses ?? 0),
  );
  expect(after.filter((connection) => !authsBefore.has(connection.id))).toEqual([]);
  expect(Math.min(...reauths)).toBeGreaterThanOrEqual(ROTATIONS);
  expect(await standalone[0]!.get("shared-counter")).toBe(String(standalone.length * ROTATIONS));
  for (const server of [fixture.server, clusterServer]) {
    const stats = server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
  }
  report("shared manager", { connections: after.length, fetches, refreshed });
});
