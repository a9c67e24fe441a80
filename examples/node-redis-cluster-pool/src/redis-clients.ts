import type { TokenCredential } from "@azure/identity";
import { createTokenManager, type TokenManagerOptions } from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { createClientPool, createCluster } from "@redis-credentials/node-redis";

/** A Redis endpoint, over TLS; `ca` only for a private CA. */
export interface Endpoint {
  host: string;
  port: number;
  ca?: string;
}

export interface RedisClientsConfig {
  /** Who the app is on Microsoft Entra ID: on Azure, `new DefaultAzureCredential()`. */
  credential: TokenCredential;
  /** A cache with the OSS cluster policy: the client talks to each shard directly. */
  cluster: Endpoint;
  /** A cache with the Enterprise cluster policy (one endpoint): a pool of connections to it. */
  standalone: Endpoint;
  /** Connections the pool keeps open (it opens more, up to 10, under load). @default 2 */
  poolSize?: number;
  /** The token manager's options. @default the core's, made for Entra's hour-long tokens */
  tokenManager?: TokenManagerOptions;
}

/** A node-redis cluster client and a client pool, kept authenticated by one token manager. */
export async function connectRedis(config: RedisClientsConfig) {
  // One manager for both: a rotation costs one token request, and every connection (each
  // cluster node, each pool member) re-authenticates with the new token on its own.
  const manager = createTokenManager(
    entraId({ credential: config.credential }),
    config.tokenManager,
  );
  const { cluster: seed, standalone } = config;
  const cluster = createCluster(manager, {
    rootNodes: [{ socket: { host: seed.host, port: seed.port } }],
    defaults: { socket: { tls: true, ca: seed.ca } },
  });
  const pool = createClientPool(
    manager,
    { socket: { host: standalone.host, port: standalone.port, tls: true, ca: standalone.ca } },
    { minimum: config.poolSize ?? 2, maximum: 10 },
  );
  cluster.on("error", (error: Error) => console.error(`Redis cluster: ${error.message}`));
  pool.on("error", (error: Error) => console.error(`Redis pool: ${error.message}`));
  try {
    await Promise.all([cluster.connect(), pool.connect()]);
  } catch (error) {
    cluster.destroy();
    pool.destroy();
    await manager.dispose();
    throw error;
  }
  return {
    cluster,
    pool,
    async close() {
      await Promise.all([cluster.close(), pool.close()]);
      await manager.dispose();
    },
  };
}

export type RedisClients = Awaited<ReturnType<typeof connectRedis>>;
