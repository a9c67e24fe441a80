import type { RedisCredentials, TokenManager } from "@redis-credentials/core";
import type { Cluster, Redis } from "ioredis";
import { BoundConnection } from "./bound-connection";
import { hookClusterSubscribers } from "./ioredis-internals";

/** What `bindCredentials` returns. */
export interface CredentialsBinding {
  /** Stops managing credentials for the client and every connection bound through it. Idempotent. */
  dispose(): void;
  status(): CredentialsBindingStatus;
}

export interface CredentialsBindingStatus {
  /** Live connections kept authenticated: the client, cluster nodes, subscribers, duplicates. */
  readonly connections: number;
  /** When a re-AUTH last succeeded (epoch ms). */
  readonly lastReauthAt?: number;
  /** Handshakes and re-AUTHs that Redis refused. */
  readonly reauthFailures: number;
}

export interface BindOptions {
  /**
   * Send credentials over connections without TLS. Tokens are bearer secrets: only for a local
   * test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
}

/** Anything already bound, so that a connection reached twice (a node, its duplicate) is bound once. */
const bound = new WeakMap<object, BindingGroup>();

/** Whether `client` is bound through a binding that is not disposed. */
export function isBound(client: object): boolean {
  return bound.get(client)?.disposed === false;
}

/**
 * The connections bound through one `bindCredentials` call: the client, and everything made from
 * it (cluster nodes, pub/sub connections, duplicates), each a subscriber of the one manager.
 */
export class BindingGroup implements CredentialsBinding {
  readonly manager: TokenManager;
  readonly allowInsecureTransport: boolean;
  /** Connections that are not ended: dispose() undoes their hooks. */
  readonly attached = new Set<BoundConnection>();
  /** Connections subscribed to the manager (connecting or connected). */
  readonly live = new Set<BoundConnection>();
  lastReauthAt: number | undefined;
  reauthFailures = 0;
  /** Undo the hooks of bound clusters (connections undo their own). */
  #disposers: (() => void)[] = [];
  #disposed = false;

  constructor(manager: TokenManager, options: BindOptions) {
    this.manager = manager;
    this.allowInsecureTransport = options.allowInsecureTransport === true;
  }

  /** Binds a client, and through it every connection it makes. Does nothing for one already bound. */
  attach(client: Redis | Cluster): void {
    if (this.#disposed || isBound(client)) return;
    if (client.isCluster) this.#attachCluster(client as Cluster);
    else this.#attachRedis(client as Redis);
  }

  #attachRedis(redis: Redis): void {
    bound.set(redis, this);
    this.attached.add(new BoundConnection(redis, this));
  }

  /** The manager's valid credentials; undefined when it holds none or was disposed. */
  current(): RedisCredentials | undefined {
    try {
      return this.manager.peekCredentials();
    } catch {
      return undefined;
    }
  }

  /** Called by a connection that undid its hooks. */
  forget(client: Redis, connection: BoundConnection): void {
    if (bound.get(client) === this) bound.delete(client);
    this.attached.delete(connection);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  #attachCluster(cluster: Cluster): void {
    bound.set(cluster, this);
    const attach = (redis: Redis) => this.attach(redis);
    // Clusters copy redisOptions into every node, duplicate and cluster.duplicate(): keep them current.
    cluster.options.redisOptions ??= {};
    const redisOptions = cluster.options.redisOptions;
    const keepOptionsCurrent = () => {
      const current = this.current();
      if (current === undefined) return;
      redisOptions.username = current.username;
      redisOptions.password = current.password;
    };
    keepOptionsCurrent();
    const sweep = () => {
      keepOptionsCurrent();
      for (const node of cluster.nodes("all")) attach(node);
      hookClusterSubscribers(cluster, attach);
    };
    let unsubscribe: (() => void) | undefined;
    const subscribe = () => {
      // A disposed manager has nothing to hand out; its connections report that when they connect.
      if (this.manager.status().state === "disposed") return;
      unsubscribe ??= this.manager.subscribe(sweep);
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
    cluster.on("+node", attach);
    cluster.on("connect", subscribe);
    cluster.on("ready", subscribe);
    cluster.on("refresh", sweep);
    cluster.on("end", unsubscribeOnEnd);
    if (cluster.status !== "end") subscribe();
    this.#disposers.push(() => {
      bound.delete(cluster);
      unsubscribeOnEnd();
      delete (cluster as Partial<Cluster>).duplicate;
      cluster.off("+node", attach);
      cluster.off("connect", subscribe);
      cluster.off("ready", subscribe);
      cluster.off("refresh", sweep);
      cluster.off("end", unsubscribeOnEnd);
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Ended connections hold nothing; they undo their hooks if they ever connect again.
    for (const connection of [...this.attached]) connection.detach();
    for (const dispose of this.#disposers.splice(0).reverse()) dispose();
  }

  status(): CredentialsBindingStatus {
    return {
      connections: this.live.size,
      ...(this.lastReauthAt !== undefined && { lastReauthAt: this.lastReauthAt }),
      reauthFailures: this.reauthFailures,
    };
  }
}
