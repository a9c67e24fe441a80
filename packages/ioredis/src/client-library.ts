/**
 * The types of one ioredis-compatible client library (ioredis, iovalkey): what the adapter's
 * functions take and return. Only the public signatures use them; inside, the adapter treats
 * every such library as ioredis.
 */
export interface ClientTypes {
  Redis: object;
  Cluster: object;
  RedisOptions: object;
  ClusterOptions: object;
  ClusterNode: unknown;
}

/**
 * The classes of an ioredis-compatible client library, which the adapter constructs: clients in
 * `createRedis`/`createCluster`, AUTH commands when credentials rotate. Nothing in the adapter
 * imports them from a module; `@redis-credentials/ioredis` passes ioredis's,
 * `@redis-credentials/iovalkey` iovalkey's.
 */
export interface ClientLibrary<T extends ClientTypes = ClientTypes> {
  /** The library's name, for messages ("ioredis", "iovalkey"). */
  readonly name: string;
  readonly Redis: new (options: T["RedisOptions"]) => T["Redis"];
  readonly Cluster: new (
    startupNodes: T["ClusterNode"][],
    options: T["ClusterOptions"],
  ) => T["Cluster"];
  readonly Command: new (name: string, args: string[]) => { readonly promise: Promise<unknown> };
}
