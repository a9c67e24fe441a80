import type { CredentialsBinding, TokenManager } from "@redis-credentials/core";
import {
  Cluster,
  type ClusterNode,
  type ClusterOptions,
  Command,
  Redis,
  type RedisOptions,
} from "ioredis";
import { createAdapter } from "./create-adapter";
import type { BindOptions, CreateClusterOptions, CreateRedisOptions } from "./factory-options";

export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export { ClusterNotReadyError, type ClusterNotReadyReason } from "./cluster-not-ready-error";
export { ConnectionClosedError } from "./connection-closed-error";
export { CLUSTER_READY_TIMEOUT_MS } from "./create-client";
export type {
  AdapterOptions,
  BindOptions,
  CreateClusterOptions,
  CreateRedisOptions,
} from "./factory-options";

// The one implementation (`@redis-credentials/ioredis/adapter`), given ioredis's classes.
const ioredis = createAdapter<{
  Redis: Redis;
  Cluster: Cluster;
  RedisOptions: RedisOptions;
  ClusterOptions: ClusterOptions;
  ClusterNode: ClusterNode;
}>({ name: "ioredis", Redis, Cluster, Command });

/**
 * Fetches credentials, then connects an ioredis client bound to `manager`. Resolves once the
 * client is ready (with `lazyConnect: true`: at once, unconnected); rejects, disconnecting the
 * client, if the first connect fails — for refused credentials, with `CredentialsRejectedError`
 * once a forced refresh did not help.
 */
export function createRedis(manager: TokenManager, options?: CreateRedisOptions): Promise<Redis> {
  return ioredis.createRedis(manager, options);
}

/** Like {@link createRedis}, for a Redis Cluster: every node, subscriber and duplicate is bound. */
export function createCluster(
  manager: TokenManager,
  startupNodes: ClusterNode[],
  options?: CreateClusterOptions,
): Promise<Cluster> {
  return ioredis.createCluster(manager, startupNodes, options);
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
  return ioredis.bindCredentials(client, manager, options);
}

/**
 * The binding of `client` (made by `createRedis`/`createCluster`, or bound with
 * `bindCredentials`, or a node, subscriber or duplicate of one): its `status()` and `dispose()`.
 * Undefined for a client that is not bound, or whose binding was disposed.
 */
export function bindingOf(client: Redis | Cluster): CredentialsBinding | undefined {
  return ioredis.bindingOf(client);
}
