import {
  type CredentialsBinding,
  InvalidOptionsError,
  type TokenManager,
} from "@redis-credentials/core";
import type { Cluster, Redis } from "ioredis";
import type { AdapterOptions, BindOptions } from "./adapter-options";
import { bindCredentials } from "./bind-credentials";
import type { ClientLibrary, ClientTypes } from "./client-library";
import { createCluster, createRedis } from "./create-client";
import { bindingOf } from "./ioredis-binding";
import type { IoredisLibrary } from "./ioredis-library";

/** The adapter's functions for one client library; `T` gives the library's types. */
export interface ClientAdapter<T extends ClientTypes> {
  /**
   * Fetches credentials, then connects a client bound to `manager`. Resolves once the client is
   * ready (with `lazyConnect: true`: at once, unconnected); rejects, disconnecting the client, if
   * the first connect fails — for refused credentials, with `CredentialsRejectedError` once a
   * forced refresh did not help.
   */
  createRedis(
    manager: TokenManager,
    options?: T["RedisOptions"] & AdapterOptions,
  ): Promise<T["Redis"]>;
  /** Like `createRedis`, for a Redis Cluster: every node, subscriber and duplicate is bound. */
  createCluster(
    manager: TokenManager,
    startupNodes: T["ClusterNode"][],
    options?: T["ClusterOptions"] & AdapterOptions,
  ): Promise<T["Cluster"]>;
  /**
   * Keeps `client` authenticated with `manager`'s credentials: every connect and reconnect sends
   * the current ones, and new ones reach each live connection by AUTH before the old token
   * expires — cluster nodes, pub/sub subscribers and `duplicate()` copies included. Build the
   * client with `lazyConnect: true` and bind it before it connects, so that the first handshake
   * is authenticated. The binding ends with the client (`quit()`, `disconnect()`) or with
   * `dispose()`.
   */
  bindCredentials(
    client: T["Redis"] | T["Cluster"],
    manager: TokenManager,
    options?: BindOptions,
  ): CredentialsBinding;
  /**
   * The binding of `client` (made by `createRedis`/`createCluster`, or bound with
   * `bindCredentials`, or a node, subscriber or duplicate of one): its `status()` and
   * `dispose()`. Undefined for a client that is not bound, or whose binding was disposed.
   */
  bindingOf(client: T["Redis"] | T["Cluster"]): CredentialsBinding | undefined;
}

/**
 * The ioredis adapter for an ioredis-compatible client library (ioredis 5/6, iovalkey), given
 * its classes: `createAdapter<IovalkeyTypes>({ name: "iovalkey", Redis, Cluster, Command })`.
 * Bindings are shared by every adapter: `bindingOf` of one finds those of another.
 */
export function createAdapter<T extends ClientTypes>(library: ClientLibrary<T>): ClientAdapter<T> {
  if (typeof library !== "object" || library === null) {
    throw new InvalidOptionsError("library", "must be { name, Redis, Cluster, Command }.");
  }
  for (const name of ["Redis", "Cluster", "Command"] as const) {
    if (typeof library[name] !== "function") {
      throw new InvalidOptionsError(
        `library.${name}`,
        "must be the client library's class of that name.",
      );
    }
  }
  const ioredis = {
    ...library,
    name: typeof library.name === "string" && library.name !== "" ? library.name : "ioredis",
  } as unknown as IoredisLibrary;
  return {
    createRedis: (manager, options) =>
      createRedis(ioredis, manager, options as Parameters<typeof createRedis>[2]),
    createCluster: (manager, startupNodes, options) =>
      createCluster(
        ioredis,
        manager,
        startupNodes as Parameters<typeof createCluster>[2],
        options as Parameters<typeof createCluster>[3],
      ),
    bindCredentials: (client, manager, options) =>
      bindCredentials(ioredis, client as Redis | Cluster, manager, options),
    bindingOf: (client) => bindingOf(client as Redis | Cluster),
  };
}
