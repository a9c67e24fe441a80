import {
  ConnectionSession,
  type ConnectionState,
  IamUnavailableError,
  type RedisCredentials,
  type SessionGroup,
  type SessionPort,
} from "@redis-credentials/core";
import {
  cannotReauthenticate,
  describeTarget,
  type NodeRedisConnection,
  reconnect,
  type StreamingCredentialsListener,
} from "./node-redis-internals";

/** What a connection needs from the provider it belongs to. */
export interface ConnectionOwner {
  readonly group: SessionGroup;
  /** Hands the user an error of `connection`'s (refused credentials). */
  report(error: Error, connection: ClientConnection): void;
  /** Marks an error that must end a connect for good (the reconnect strategy stops on it). */
  fatal<E extends Error>(error: E): E;
  forget(connection: ClientConnection): void;
}

/**
 * One node-redis connection (a client, a pool member, a cluster node, a sentinel-managed node)
 * mapped onto a core {@link ConnectionSession}: one subscription to the manager for its whole
 * life, however often it reconnects. node-redis calls the provider's `subscribe()` on every
 * reconnect without disposing the previous subscription; `attach()` replaces the listener
 * instead of adding one, so each rotation sends exactly one AUTH.
 *
 * `client` is undefined when the subscriber could not be identified: then the connection lasts
 * one connect and re-authenticates through node-redis's own listener.
 */
export class ClientConnection implements SessionPort {
  readonly client: NodeRedisConnection | undefined;
  readonly session: ConnectionSession;
  readonly #owner: ConnectionOwner;
  #listener: StreamingCredentialsListener | undefined;
  #generation = 0;
  /** AUTHs not written yet: dropped when the socket goes, since the next handshake sends current ones. */
  readonly #unsentAuths = new Set<AbortController>();

  constructor(owner: ConnectionOwner, client: NodeRedisConnection | undefined) {
    this.#owner = owner;
    this.client = client;
    this.session = new ConnectionSession(owner.group, this);
  }

  /** A (re)connect subscribed with `listener`; returns the handle its `dispose()` must match. */
  attach(listener: StreamingCredentialsListener): number {
    this.#listener = listener;
    this.#generation += 1;
    return this.#generation;
  }

  /** node-redis disposed a subscription: only the latest one ends the connection. */
  release(generation: number): void {
    if (generation === this.#generation) this.session.end();
  }

  /** The client's `reconnecting` event: AUTHs still queued would follow the next handshake. */
  dropUnsentAuths(): void {
    for (const unsent of this.#unsentAuths) unsent.abort();
    this.#unsentAuths.clear();
  }

  get target(): string {
    return this.client ? describeTarget(this.client) : "Redis";
  }

  get connectTimeoutMs(): number {
    return this.client?.options?.socket?.connectTimeout ?? 5_000;
  }

  connectionState(): ConnectionState {
    const client = this.client;
    if (client === undefined) return "ready"; // node-redis's own listener sends the AUTH
    if (!client.isOpen) return "ended";
    if (!client.isReady) return "connecting";
    return cannotReauthenticate(client) ? "reconnect-to-reauthenticate" : "ready";
  }

  async sendAuth(credentials: RedisCredentials): Promise<unknown> {
    const { username, password } = credentials;
    if (this.client === undefined) return this.#listener?.onNext({ username, password });
    const unsent = new AbortController();
    this.#unsentAuths.add(unsent);
    try {
      return await this.client.sendCommand(["AUTH", username, password], {
        abortSignal: unsent.signal,
      });
    } finally {
      this.#unsentAuths.delete(unsent);
    }
  }

  reconnect(): void {
    if (this.client !== undefined) reconnect(this.client);
  }

  /**
   * Refused credentials on a first connect fail it (node-redis reports that error itself); IAM
   * unable to check them now does not: the connect goes on after the backoff.
   */
  reportError(error: Error): void {
    if (!this.session.everReady && !(error instanceof IamUnavailableError)) {
      throw this.#owner.fatal(error);
    }
    this.#owner.report(error, this);
  }

  ended(): void {
    this.#listener = undefined;
    this.dropUnsentAuths();
    this.#owner.forget(this);
  }
}
