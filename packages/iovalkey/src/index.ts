import type { CredentialsBinding, TokenManager } from "@redis-credentials/core";
import {
  type AdapterOptions,
  type BindOptions,
  createAdapter,
} from "@redis-credentials/ioredis/adapter";
import {
  Cluster,
  type ClusterNode,
  type ClusterOptions,
  Command,
  Redis,
  type RedisOptions,
} from "iovalkey";

export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export type { AdapterOptions, BindOptions } from "@redis-credentials/ioredis/adapter";
export {
  CLUSTER_READY_TIMEOUT_MS,
  ClusterNotReadyError,
  type ClusterNotReadyReason,
  ConnectionClosedError,
} from "@redis-credentials/ioredis/adapter";

/** `createRedis`'s options: iovalkey's, without credentials (the manager supplies them). */
export type CreateRedisOptions = RedisOptions & AdapterOptions;

/** `createCluster`'s options: iovalkey's, without credentials (the manager supplies them). */
export type CreateClusterOptions = ClusterOptions & AdapterOptions;

// The ioredis adapter's one implementation, given iovalkey's classes.
const iovalkey = createAdapter<{
  Redis: Redis;
  Cluster: Cluster;
  RedisOptions: RedisOptions;
  ClusterOptions: ClusterOptions;
  ClusterNode: ClusterNode;
}>({ name: "iovalkey", Redis, Cluster, Command });

/**
 * Fetches credentials, then connects an iovalkey client bound to `manager`. Resolves once the
 * client is ready (with `lazyConnect: true`: at once, unconnected); rejects, disconnecting the
 * client, if the first connect fails — for refused credentials, with `CredentialsRejectedError`
 * once a forced refresh did not help.
 */
export function createRedis(manager: TokenManager, options?: CreateRedisOptions): Promise<Redis> {
  return iovalkey.createRedis(manager, options);
}

/** Like {@link createRedis}, for a Valkey/Redis Cluster: every node, subscriber and duplicate is bound. */
export function createCluster(
  manager: TokenManager,
  startupNodes: ClusterNode[],
  options?: CreateClusterOptions,
): Promise<Cluster> {
  return iovalkey.createCluster(manager, startupNodes, options);
}

/**
 * Keeps `client` authenticated with `manager`'s credentials: every connect and reconnect sends the
 * current ones, and new ones reach each live connection by AUTH before the old token expires —
 * cluster nodes, pub/sub subscribers and `duplicate()` copies included. Build the client with
 * `lazyConnect: true` and bind it before it connects, so that the first handshake is authenticated.
 * The binding ends with the client (`quit()`, `disconnect()`) or with `dispose()`.
 */
export function bindCredentials(
  client: Redis | Cluster,
  manager: TokenManager,
  options?: BindOptions,
): CredentialsBinding {
  return iovalkey.bindCredentials(client, manager, options);
}

/**
 * The binding of `client` (made by `createRedis`/`createCluster`, or bound with
 * `bindCredentials`, or a node, subscriber or duplicate of one): its `status()` and `dispose()`.
 * Undefined for a client that is not bound, or whose binding was disposed.
 */
export function bindingOf(client: Redis | Cluster): CredentialsBinding | undefined {
  return iovalkey.bindingOf(client);
}
