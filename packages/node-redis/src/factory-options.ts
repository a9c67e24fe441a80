import type {
  RedisClientOptions,
  RedisClusterOptions,
  RedisFunctions,
  RedisModules,
  RedisScripts,
  RedisSentinelOptions,
  RespVersions,
  TypeMapping,
} from "redis";

/** node-redis's default for modules, functions, scripts and type mappings: none (`{}`). */
export type NoExtras = Record<never, never>;

/** What the factories add to node-redis's own options. */
export interface AdapterOptions {
  /**
   * Send credentials over connections without TLS. Tokens are bearer secrets: only for a local
   * test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
}

/** `createClient`'s and `createClientPool`'s options: node-redis's, without credentials. */
export type CreateClientOptions<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
> = RedisClientOptions<M, F, S, RESP, TYPE_MAPPING> & AdapterOptions;

/** `createCluster`'s options: node-redis's, without credentials. */
export type CreateClusterOptions<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
> = RedisClusterOptions<M, F, S, RESP, TYPE_MAPPING> & AdapterOptions;

/** `createSentinel`'s options: node-redis's, without credentials. */
export type CreateSentinelOptions<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
> = RedisSentinelOptions<M, F, S, RESP, TYPE_MAPPING> & AdapterOptions;
