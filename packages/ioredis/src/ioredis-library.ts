import type { Cluster, ClusterNode, ClusterOptions, Command, Redis, RedisOptions } from "ioredis";
import type { ClientLibrary } from "./client-library";

/** ioredis's types: the shape the implementation is written against (iovalkey has the same). */
export interface IoredisTypes {
  Redis: Redis;
  Cluster: Cluster;
  RedisOptions: RedisOptions;
  ClusterOptions: ClusterOptions;
  ClusterNode: ClusterNode;
}

/** The library as the implementation sees it. */
export interface IoredisLibrary extends ClientLibrary<IoredisTypes> {
  readonly Command: typeof Command;
}
