import type { ClusterOptions, RedisOptions } from "ioredis";
import type { AdapterOptions } from "./adapter-options";

export type { AdapterOptions, BindOptions } from "./adapter-options";

/** `createRedis`'s options: ioredis's, without credentials (the manager supplies them). */
export type CreateRedisOptions = RedisOptions & AdapterOptions;

/** `createCluster`'s options: ioredis's, without credentials (the manager supplies them). */
export type CreateClusterOptions = ClusterOptions & AdapterOptions;
