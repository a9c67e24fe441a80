import type { ClusterOptions, RedisOptions } from "ioredis";

/** What `bindCredentials`, `createRedis` and `createCluster` add to ioredis's own options. */
export interface AdapterOptions {
  /**
   * Send credentials over connections without TLS. Tokens are bearer secrets: only for a local
   * test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
}

/** The options of `bindCredentials` (the name it has had since 0.0.0). */
export type BindOptions = AdapterOptions;

/** `createRedis`'s options: ioredis's, without credentials (the manager supplies them). */
export type CreateRedisOptions = RedisOptions & AdapterOptions;

/** `createCluster`'s options: ioredis's, without credentials (the manager supplies them). */
export type CreateClusterOptions = ClusterOptions & AdapterOptions;
