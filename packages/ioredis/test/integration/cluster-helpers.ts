import type { Cluster, ClusterNode } from "ioredis";
import type { CreateClusterOptions } from "../../src";
import type { Fixture } from "./helpers";

// What does not depend on the client library comes from @redis-credentials/test-helpers.
export {
  afterRotations,
  clusterOf,
  connectionsOf,
  describeErrors,
  keySlot,
  keysInEveryShard,
  report,
  runLoop,
  Users,
} from "@redis-credentials/test-helpers";

/** Where a cluster client starts: the seed node only, so it learns every other node from the cluster. */
export function seedNodes(fixture: Fixture): ClusterNode[] {
  return [{ host: fixture.server.host, port: fixture.server.port }];
}

/**
 * `createCluster` options that reach the fixture: TLS (trusting its CA) when it has it, plainly
 * with `allowInsecureTransport` otherwise. A bounded `clusterRetryStrategy`, so a test never waits
 * on ioredis' default backoff.
 */
export function clusterOptions(
  fixture: Fixture,
  extra: CreateClusterOptions = {},
): CreateClusterOptions {
  const { host: _host, port: _port, allowInsecureTransport, ...transport } = fixture.redisOptions();
  return {
    clusterRetryStrategy: (times) => Math.min(50 * times, 500),
    ...extra,
    ...(allowInsecureTransport !== undefined && { allowInsecureTransport }),
    redisOptions: { ...transport, ...extra.redisOptions },
  };
}

/** The port of the master that serves `slot`, as the cluster itself says (CLUSTER SLOTS). */
export async function masterPortOf(cluster: Cluster, slot: number): Promise<number> {
  const ranges = await cluster.cluster("SLOTS");
  const master = ranges.find(([start, end]) => start <= slot && slot <= end)?.[2];
  if (master === undefined) throw new Error(`No master serves slot ${slot}`);
  return Number(master[1]);
}
