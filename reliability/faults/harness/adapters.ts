import type { TokenManager } from "@redis-credentials/core";
import * as ioredis from "@redis-credentials/ioredis";
import * as iovalkey from "@redis-credentials/iovalkey";
import * as nodeRedis from "@redis-credentials/node-redis";
import type { TokenRedis } from "@redis-credentials/testing";
import { createGlideClient, createGlideClusterClient } from "@redis-credentials/valkey-glide";
import type { Topology } from "./fault-environment";

/** Every adapter the fault suite runs. */
export type AdapterName = "ioredis" | "iovalkey" | "node-redis" | "valkey-glide";
export const ADAPTERS: readonly AdapterName[] = [
  "ioredis",
  "iovalkey",
  "node-redis",
  "valkey-glide",
];

/** What the workload needs of a connected client, whichever library it is. */
export interface AdapterClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  /** Ends the client without waiting on the server. */
  close(): Promise<void>;
}

/** What ioredis's and iovalkey's clients (standalone and cluster) share, as used here. */
interface IoredisLike {
  on(event: "error", listener: (error: Error) => void): unknown;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  disconnect(): void;
}

/**
 * GLIDE's default request timeout is 250 ms: on a loaded 2-core machine that fails commands for
 * reasons that have nothing to do with credentials. 5 s keeps a hang visible.
 */
const GLIDE_REQUEST_TIMEOUT_MS = 5_000;

/** Client settings a case may change; the client library's defaults otherwise. */
export interface AdapterSettings {
  /**
   * How long a connect may take, a wait for fresh credentials included: ioredis's and
   * iovalkey's `connectTimeout`, node-redis's `socket.connectTimeout`, GLIDE's
   * `advancedConfiguration.connectionTimeout`.
   * @default each library's (ioredis 10 s, node-redis 5 s, GLIDE 2 s)
   */
  connectTimeoutMs?: number;
  /**
   * Raw options spread into the factory's options, by adapter: for ioredis and iovalkey the
   * `RedisOptions` of a standalone client and of every cluster node (`redisOptions`); for
   * node-redis the client's options and the cluster's `defaults`; for GLIDE the configuration.
   */
  clientOptions?: Partial<Record<AdapterName, Record<string, unknown>>>;
}

/**
 * Connects one client of `adapter` to `server` bound to `manager`, with the client library's
 * defaults otherwise (ioredis maxRetriesPerRequest 20, node-redis's offline queue). Errors the
 * client reports outside a command (its `error` event, GLIDE's `onError`) go to `onError`.
 */
export async function connectAdapter(
  adapter: AdapterName,
  topology: Topology,
  manager: TokenManager,
  server: TokenRedis,
  onError: (error: Error) => void,
  settings: AdapterSettings = {},
): Promise<AdapterClient> {
  const nodes = server.nodes.map(({ host, port }) => ({ host, port }));
  const insecure = { allowInsecureTransport: true };
  const timeout = settings.connectTimeoutMs;
  const raw = settings.clientOptions?.[adapter] ?? {};
  switch (adapter) {
    case "ioredis":
    case "iovalkey": {
      const redisOptions = { ...(timeout !== undefined && { connectTimeout: timeout }), ...raw };
      const client: IoredisLike =
        adapter === "ioredis"
          ? topology === "cluster"
            ? await ioredis.createCluster(manager, nodes, { redisOptions, ...insecure })
            : await ioredis.createRedis(manager, { ...nodes[0], ...redisOptions, ...insecure })
          : topology === "cluster"
            ? await iovalkey.createCluster(manager, nodes, { redisOptions, ...insecure })
            : await iovalkey.createRedis(manager, { ...nodes[0], ...redisOptions, ...insecure });
      client.on("error", onError);
      return {
        set: (key, value) => client.set(key, value),
        get: (key) => client.get(key),
        close: async () => client.disconnect(),
      };
    }
    case "node-redis": {
      const socket = timeout === undefined ? {} : { connectTimeout: timeout };
      const client =
        topology === "cluster"
          ? nodeRedis.createCluster(manager, {
              rootNodes: nodes.map((node) => ({ socket: node })),
              defaults: { socket, ...raw },
              ...insecure,
            })
          : nodeRedis.createClient(manager, {
              ...raw,
              socket: { ...nodes[0], ...socket },
              ...insecure,
            });
      client.on("error", onError);
      await client.connect();
      return {
        set: (key, value) => client.set(key, value),
        get: (key) => client.get(key),
        close: async () => client.destroy(),
      };
    }
    case "valkey-glide": {
      const config = {
        addresses: nodes,
        requestTimeout: GLIDE_REQUEST_TIMEOUT_MS,
        ...(timeout !== undefined && { advancedConfiguration: { connectionTimeout: timeout } }),
        ...raw,
        onError,
        ...insecure,
      };
      const client =
        topology === "cluster"
          ? await createGlideClusterClient(manager, config)
          : await createGlideClient(manager, config);
      return {
        set: (key, value) => client.set(key, value),
        get: (key) => client.get(key),
        close: async () => client.close(),
      };
    }
  }
}
