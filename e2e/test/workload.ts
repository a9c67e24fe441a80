import { setTimeout as sleep } from "node:timers/promises";
import {
  type CredentialSource,
  createTokenManager,
  type FetchReason,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { createCluster as createIoredisCluster, createRedis } from "@redis-credentials/ioredis";
import {
  createClient,
  createCluster as createNodeRedisCluster,
} from "@redis-credentials/node-redis";
import type { TokenRedis, TokenRedisStats } from "@redis-credentials/testing";

/** Manager options for tokens that live a few seconds: many rotations in a short test. */
export const FAST_ROTATION: TokenManagerOptions = {
  refreshBeforeExpiryMs: 1_000,
  minRefreshIntervalMs: 200,
  refreshJitterMs: 200,
  reauthSpreadMs: 200,
  retry: { initialDelayMs: 50, maxDelayMs: 500 },
};

/**
 * A fast-rotating manager over `source` that records why each fetch happened (`reasons`), so a
 * test can tell that nothing forced a refresh.
 */
export function recordingManager(
  source: CredentialSource,
): TokenManager & { reasons: FetchReason[] } {
  const reasons: FetchReason[] = [];
  const manager = createTokenManager(
    {
      name: source.name,
      fetch: (context) => {
        reasons.push(context.reason);
        return source.fetch(context);
      },
    },
    FAST_ROTATION,
  );
  return Object.assign(manager, { reasons });
}

/**
 * Runs one command loop per step (each step gets its iteration number), 5 ms apart, until
 * `manager` has brought `rotations` new credentials; returns the commands that succeeded and
 * every failure. The steady workload the end-to-end tests hold across rotations.
 */
export async function workloadAcrossRotations(
  manager: TokenManager,
  rotations: number,
  steps: ((i: number) => Promise<unknown>)[],
): Promise<{ failures: unknown[]; commands: number }> {
  let rotated = 0;
  const onRefreshed = () => {
    rotated += 1;
  };
  manager.on("refreshed", onRefreshed);
  const failures: unknown[] = [];
  let commands = 0;
  let running = true;
  const loop = async (step: (i: number) => Promise<unknown>) => {
    for (let i = 0; running; i++) {
      try {
        await step(i);
        commands += 1;
      } catch (error) {
        failures.push(error);
      }
      await sleep(5);
    }
  };
  const loops = steps.map(loop);
  try {
    while (rotated < rotations) await sleep(100);
  } finally {
    running = false;
    await Promise.all(loops);
    manager.off("refreshed", onRefreshed);
  }
  return { failures, commands };
}

/**
 * An ioredis and a node-redis client on `manager`, over TLS to `server` (as cluster clients of its
 * nodes for a cluster), writing steadily until `rotations` new credentials have come. Asserts what every
 * credential source must give both adapters: no failed command, no refused AUTH, every connection
 * re-authenticated at every rotation and the very same connections throughout.
 * Returns the server's stats for what is particular to the source.
 */
export async function bothAdaptersAcrossRotations(
  manager: TokenManager,
  server: TokenRedis,
  rotations: number,
  topology: "standalone" | "cluster",
): Promise<TokenRedisStats> {
  const clients =
    topology === "cluster"
      ? await clusterClients(manager, server)
      : await standaloneClients(manager, server);
  try {
    // One key per master of a 3-master cluster. A cluster client opens a node's connection at its
    // first command there: writing each key once first means every connection exists before the
    // first rotation counted, so each must show its first AUTH and a re-AUTH per rotation.
    const keys = ["{a}e2e", "{b}e2e", "{c}e2e"];
    await Promise.all(
      keys.flatMap((key) => [clients.ioredis.set(key, "0"), clients.nodeRedis.set(key, "0")]),
    );
    const ids = () =>
      server
        .connections()
        .map((connection) => connection.id)
        .sort();
    const first = ids();
    const { failures, commands } = await workloadAcrossRotations(manager, rotations, [
      (i) => clients.ioredis.set(keys[i % 3]!, String(i)),
      (i) => clients.nodeRedis.set(keys[(i + 1) % 3]!, String(i)),
    ]);

    expect(failures).toEqual([]);
    expect(commands).toBeGreaterThan(100);
    const stats = server.stats();
    expect(stats.authRejected).toEqual({});
    for (const connection of server.connections()) {
      expect(connection.authSuccesses).toBeGreaterThanOrEqual(rotations);
    }
    expect(ids()).toEqual(first);
    return stats;
  } finally {
    clients.ioredis.disconnect();
    await clients.nodeRedis.close();
  }
}

interface BothClients {
  ioredis: { set(key: string, value: string): Promise<unknown>; disconnect(): void };
  nodeRedis: { set(key: string, value: string): Promise<unknown>; close(): Promise<unknown> };
}

async function standaloneClients(manager: TokenManager, server: TokenRedis): Promise<BothClients> {
  const { host, port } = server;
  const ca = server.ca as string;
  const ioredis = await createRedis(manager, { host, port, tls: { ca } });
  const nodeRedis = createClient(manager, { socket: { host, port, tls: true, ca } });
  nodeRedis.on("error", () => {});
  await nodeRedis.connect();
  return { ioredis, nodeRedis };
}

async function clusterClients(manager: TokenManager, server: TokenRedis): Promise<BothClients> {
  const ca = server.ca as string;
  const ioredis = await createIoredisCluster(manager, server.nodes, {
    redisOptions: { tls: { ca } },
  });
  const nodeRedis = createNodeRedisCluster(manager, {
    rootNodes: server.nodes.map(({ host, port }) => ({ socket: { host, port } })),
    defaults: { socket: { tls: true, ca } },
  });
  nodeRedis.on("error", () => {});
  await nodeRedis.connect();
  return { ioredis, nodeRedis };
}
