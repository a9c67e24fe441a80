import { type CredentialsBinding, SessionGroup, type TokenManager } from "@redis-credentials/core";
import type { Cluster, Redis } from "ioredis";
import { bindClientConnection, type ConnectionOwner } from "./client-connection";
import { reportClusterRefusals } from "./cluster-refusals";
import type { BindOptions } from "./factory-options";
import { setHiddenSecret } from "./hidden-secret";
import { hookClusterSubscribers } from "./ioredis-internals";
import type { IoredisLibrary } from "./ioredis-library";
import { refusedPassword, scrubEmittedErrors } from "./scrub-auth-error";

/** Every client and connection bound, with its binding, so that each is bound once. */
const bindings = new WeakMap<object, IoredisBinding>();

/**
 * The binding of `client` (made by `createRedis`/`createCluster`, or bound with
 * `bindCredentials`, or a node, subscriber or duplicate of one): its `status()` and `dispose()`.
 * Undefined for a client that is not bound, or whose binding was disposed.
 */
export function bindingOf(client: Redis | Cluster): CredentialsBinding | undefined {
  const binding = bindings.get(client);
  return binding?.group.disposed === false ? binding.group : undefined;
}

/**
 * The connections bound through one `bindCredentials` call: the client, and everything made from
 * it (cluster nodes, pub/sub connections, duplicates), each a session of one group.
 */
export class IoredisBinding implements ConnectionOwner {
  readonly group: SessionGroup;
  /**
   * The password of the last AUTH Redis refused on one of the connections: a cluster's slot
   * refresh reports only its CLUSTER SLOTS failing with NOAUTH, not the handshake's own error.
   */
  #lastRefusedPassword: string | undefined;
  readonly #unscrub = new WeakMap<Redis, () => void>();

  constructor(
    readonly library: IoredisLibrary,
    manager: TokenManager,
    options: BindOptions,
  ) {
    this.group = new SessionGroup(manager, options);
  }

  /** Binds a client, and through it every connection it makes. Does nothing for one already bound. */
  attach(client: Redis | Cluster): void {
    if (this.group.disposed || bindingOf(client) !== undefined) return;
    bindings.set(client, this);
    if (client.isCluster) {
      this.#attachCluster(client as Cluster);
      return;
    }
    const redis = client as Redis;
    // Before anyone sees it: a refused handshake's error holds the token until scrubbed, and
    // ioredis hands the same object to every `error` listener and to the commands it rejects.
    const unscrub = scrubEmittedErrors(redis, (password) => {
      this.#lastRefusedPassword = password;
    });
    this.#unscrub.set(redis, unscrub);
    bindClientConnection(redis, this);
  }

  forget(redis: Redis): void {
    this.#unscrub.get(redis)?.();
    this.#unscrub.delete(redis);
    if (bindings.get(redis) === this) bindings.delete(redis);
  }

  #attachCluster(cluster: Cluster): void {
    const attach = (redis: Redis) => this.attach(redis);
    // Clusters copy redisOptions into every node, duplicate and cluster.duplicate(): keep them current.
    cluster.options.redisOptions ??= {};
    const redisOptions = cluster.options.redisOptions;
    const sweep = () => {
      const current = this.group.current();
      if (current !== undefined) {
        redisOptions.username = current.username;
        setHiddenSecret(redisOptions, "password", current.password);
      }
      for (const node of cluster.nodes("all")) attach(node);
      hookClusterSubscribers(cluster, attach);
    };
    let unsubscribe: (() => void) | undefined;
    const subscribe = () => {
      // A disposed manager has nothing to hand out; its connections report that when they connect.
      if (this.group.managerDisposed) return;
      unsubscribe ??= this.group.manager.subscribe(sweep);
      sweep();
    };
    const unsubscribeOnEnd = () => {
      unsubscribe?.();
      unsubscribe = undefined;
    };
    const duplicate = cluster.duplicate;
    cluster.duplicate = (...args: Parameters<Cluster["duplicate"]>) => {
      const copy = duplicate.apply(cluster, args);
      this.attach(copy);
      return copy;
    };
    const listeners: [string, (...args: any[]) => void][] = [
      ["+node", attach],
      ["connect", subscribe],
      ["ready", subscribe],
      ["refresh", sweep],
      ["end", unsubscribeOnEnd],
    ];
    for (const [event, listener] of listeners) cluster.on(event, listener);
    const stopReportingRefusals = reportClusterRefusals(
      cluster,
      this.group,
      (error) => refusedPassword(error) ?? this.#lastRefusedPassword,
    );
    if (cluster.status !== "end") subscribe();
    this.group.onDispose(() => {
      stopReportingRefusals();
      bindings.delete(cluster);
      unsubscribeOnEnd();
      delete (cluster as Partial<Cluster>).duplicate;
      for (const [event, listener] of listeners) cluster.off(event, listener);
    });
  }
}
