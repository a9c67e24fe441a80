import type { TokenManager } from "@redis-credentials/core";
import * as ioredisAdapter from "@redis-credentials/ioredis";
import * as iovalkeyAdapter from "@redis-credentials/iovalkey";
import * as nodeRedis from "@redis-credentials/node-redis";
import { createGlideClient, createGlideClusterClient } from "@redis-credentials/valkey-glide";

/** Where a client goes: a node, a cluster's seed nodes, or the sentinels of a master. */
export interface PlaintextTarget {
  host: string;
  port: number;
  nodes: { host: string; port: number }[];
  sentinels: { host: string; port: number }[];
  masterName: string;
}

/** What a row does with a client that connected: one command, then close. */
export interface Connected {
  command(): Promise<unknown>;
  close(): Promise<unknown> | unknown;
}

/** The kind of deployment an adapter entry point connects to. */
export type Deployment = "standalone" | "cluster" | "sentinel";

export interface PlaintextAdapter {
  deployment: Deployment;
  /** Connects without TLS; `allow` is the documented opt-in, `allowInsecureTransport`. */
  connect(target: PlaintextTarget, manager: TokenManager, allow: boolean): Promise<Connected>;
}

const KEY = "plaintext:key";

/** The same entry points for the ioredis adapter and the iovalkey one. */
function ioredisFamily(
  name: string,
  adapter: typeof ioredisAdapter | typeof iovalkeyAdapter,
): Record<string, PlaintextAdapter> {
  const allowing = (allow: boolean) => (allow ? { allowInsecureTransport: true } : {});
  // No reconnects: a row ends with its one connect, refused or not.
  const once = { retryStrategy: () => null, maxRetriesPerRequest: 0 };
  return {
    [`${name}.createRedis`]: {
      deployment: "standalone",
      async connect(target, manager, allow) {
        const client = await adapter.createRedis(manager, {
          host: target.host,
          port: target.port,
          ...once,
          ...allowing(allow),
        });
        return { command: () => client.ping(), close: () => client.disconnect() };
      },
    },
    [`${name}.createCluster`]: {
      deployment: "cluster",
      async connect(target, manager, allow) {
        const cluster = await adapter.createCluster(manager, target.nodes, {
          clusterRetryStrategy: () => null,
          ...allowing(allow),
        });
        return { command: () => cluster.set(KEY, "v"), close: () => cluster.disconnect() };
      },
    },
    [`${name}.createRedis (sentinels)`]: {
      deployment: "sentinel",
      async connect(target, manager, allow) {
        const client = await adapter.createRedis(manager, {
          sentinels: target.sentinels,
          name: target.masterName,
          sentinelRetryStrategy: () => null,
          ...once,
          ...allowing(allow),
        });
        return { command: () => client.ping(), close: () => client.disconnect() };
      },
    },
  };
}

const nodeRedisAdapters: Record<string, PlaintextAdapter> = {
  "node-redis.createClient": {
    deployment: "standalone",
    async connect(target, manager, allow) {
      const client = nodeRedis.createClient(manager, {
        socket: { host: target.host, port: target.port, reconnectStrategy: false },
        ...(allow && { allowInsecureTransport: true }),
      });
      client.on("error", () => {});
      await client.connect();
      return { command: () => client.ping(), close: () => client.destroy() };
    },
  },
  "node-redis.createClientPool": {
    deployment: "standalone",
    async connect(target, manager, allow) {
      const pool = nodeRedis.createClientPool(manager, {
        socket: { host: target.host, port: target.port, reconnectStrategy: false },
        ...(allow && { allowInsecureTransport: true }),
      });
      pool.on("error", () => {});
      await pool.connect();
      return { command: () => pool.ping(), close: () => pool.destroy() };
    },
  },
  "node-redis.createCluster": {
    deployment: "cluster",
    async connect(target, manager, allow) {
      const cluster = nodeRedis.createCluster(manager, {
        rootNodes: target.nodes.map((node) => ({ socket: { ...node, reconnectStrategy: false } })),
        ...(allow && { allowInsecureTransport: true }),
      });
      cluster.on("error", () => {});
      await cluster.connect();
      return { command: () => cluster.set(KEY, "v"), close: () => cluster.destroy() };
    },
  },
  "node-redis.createSentinel": {
    deployment: "sentinel",
    async connect(target, manager, allow) {
      const sentinel = nodeRedis.createSentinel(manager, {
        name: target.masterName,
        sentinelRootNodes: target.sentinels,
        ...(allow && { allowInsecureTransport: true }),
      });
      sentinel.on("error", () => {});
      await sentinel.connect();
      return { command: () => sentinel.ping(), close: () => sentinel.destroy() };
    },
  },
};

const glideAdapters: Record<string, PlaintextAdapter> = {
  "valkey-glide.createGlideClient": {
    deployment: "standalone",
    async connect(target, manager, allow) {
      const client = await createGlideClient(manager, {
        addresses: [{ host: target.host, port: target.port }],
        ...(allow && { allowInsecureTransport: true }),
      });
      return { command: () => client.ping(), close: () => client.close() };
    },
  },
  "valkey-glide.createGlideClusterClient": {
    deployment: "cluster",
    async connect(target, manager, allow) {
      const client = await createGlideClusterClient(manager, {
        addresses: target.nodes,
        ...(allow && { allowInsecureTransport: true }),
      });
      return { command: () => client.set(KEY, "v"), close: () => client.close() };
    },
  },
};

/** Every adapter entry point that connects, by name. */
export const plaintextAdapters: Record<string, PlaintextAdapter> = {
  ...ioredisFamily("ioredis", ioredisAdapter),
  ...ioredisFamily("iovalkey", iovalkeyAdapter),
  ...nodeRedisAdapters,
  ...glideAdapters,
};
