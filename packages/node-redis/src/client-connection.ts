import {
  createRejectionTracker,
  isCredentialsRejection,
  type RedisCredentials,
  type RejectionOutcome,
  sameCredentials,
} from "@redis-credentials/core";
import type { ManagedCredentialsProvider } from "./credentials-provider";
import {
  cannotReauthenticate,
  forgetExpectedCloses,
  type NodeRedisConnection,
  reconnect,
  type StreamingCredentialsListener,
} from "./node-redis-internals";

/**
 * One node-redis connection (a client, a pool member, a cluster node, a sentinel-managed node):
 * one subscription to the manager for its whole life, however often it reconnects. node-redis
 * calls `subscribe()` on every reconnect without disposing the previous subscription; `attach()`
 * replaces the listener instead of adding one, so each rotation sends exactly one AUTH.
 *
 * `client` is undefined when the subscriber could not be identified: then the connection lasts
 * one connect and re-authenticates through node-redis's own listener.
 */
export class ClientConnection {
  readonly client: NodeRedisConnection | undefined;
  /** What the last handshake presented. */
  handshake: RedisCredentials | undefined;
  readonly #provider: ManagedCredentialsProvider;
  readonly #tracker;
  readonly #stop = new AbortController();
  #listener: StreamingCredentialsListener | undefined;
  #generation = 0;
  #unsubscribe: (() => void) | undefined;
  /** The credentials the server holds for this connection. */
  #onServer: Pick<RedisCredentials, "username" | "password"> | undefined;
  #inTransaction = false;
  #authDeferred = false;
  /** Whether the last handshake has not reached `ready` yet, and what refused it, if anything. */
  #handshakePending = false;
  #handshakeRefusal: { cause: unknown } | undefined;
  /** AUTHs not written yet: dropped when the socket goes, since the next handshake sends current ones. */
  readonly #unsentAuths = new Set<AbortController>();

  constructor(provider: ManagedCredentialsProvider, client: NodeRedisConnection | undefined) {
    this.#provider = provider;
    this.client = client;
    this.#tracker = createRejectionTracker(provider.manager);
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Whether this connection was ever ready: a failed first connect is final, a reconnect is not. */
  get everReady(): boolean {
    return (this.client?.socketEpoch ?? 0) > 0;
  }

  /** A (re)connect subscribed with `listener`; returns the handle its `dispose()` must match. */
  attach(listener: StreamingCredentialsListener): number {
    this.#listener = listener;
    this.#inTransaction = false;
    this.#authDeferred = false;
    this.#handshakePending = true;
    this.#unsubscribe ??= this.#provider.manager.subscribe((credentials) =>
      this.#reauthenticate(credentials),
    );
    this.#generation += 1;
    return this.#generation;
  }

  /** node-redis disposed a subscription: only the latest one ends the connection. */
  release(generation: number): void {
    if (generation === this.#generation) this.end();
  }

  end(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#listener = undefined;
    this.dropUnsentAuths();
    this.#provider.forget(this);
  }

  /** A handshake in flight was refused with WRONGPASS/NOAUTH (perhaps this one's). */
  handshakeRefused(cause: unknown): void {
    if (this.#handshakePending) this.#handshakeRefusal = { cause };
  }

  /**
   * Before the next handshake: if Redis refused the last one, the rejection policy decides what
   * to present (newer credentials, or a forced refresh; after that, an error and backoff), with
   * the same tracker as refused re-AUTHs, so that a run of refusals is reported once.
   */
  async afterRefusedHandshake(): Promise<RejectionOutcome | undefined> {
    const refusal = this.#handshakeRefusal;
    const presented = this.handshake;
    this.#handshakeRefusal = undefined;
    if (refusal === undefined || presented === undefined) return undefined;
    this.#provider.reauthFailures += 1;
    const outcome = await this.#tracker
      .rejected(presented, refusal.cause, this.#stop.signal)
      .catch(() => undefined);
    if (outcome?.error) this.#provider.report(outcome.error, this);
    return outcome;
  }

  /** `sendCommand(['MULTI'])` was queued: hold AUTHs until EXEC or DISCARD. */
  beginTransaction(reply: Promise<unknown>): void {
    // A nested MULTI is refused while the transaction stays open: it changes nothing.
    if (this.#inTransaction) return;
    this.#inTransaction = true;
    reply.catch(() => this.endTransaction());
  }

  /** EXEC or DISCARD was queued: an AUTH queued now reaches the server after it. */
  endTransaction(): void {
    this.#inTransaction = false;
    if (!this.#authDeferred) return;
    this.#authDeferred = false;
    const current = this.#provider.current();
    if (current !== undefined) void this.#reauthenticate(current)?.catch(() => {});
  }

  /**
   * New credentials for this connection, from the manager's staggered fan-out or a retry. The
   * returned promise rejects only with an error for the user (the manager reports it as
   * `subscriberError`).
   */
  #reauthenticate(credentials: RedisCredentials): Promise<void> | undefined {
    const client = this.client;
    if (client === undefined) {
      this.#listener?.onNext({ username: credentials.username, password: credentials.password });
      return;
    }
    if (!client.isOpen) {
      this.end();
      return;
    }
    // Connecting: the handshake has current credentials, or #onReady sends them.
    if (!client.isReady) return;
    if (cannotReauthenticate(client)) {
      reconnect(client);
      return;
    }
    if (this.#inTransaction) {
      this.#authDeferred = true;
      return;
    }
    return this.#sendAuth(client, credentials);
  }

  async #sendAuth(client: NodeRedisConnection, credentials: RedisCredentials): Promise<void> {
    const epoch = client.socketEpoch;
    const unsent = new AbortController();
    this.#unsentAuths.add(unsent);
    let refused: unknown;
    try {
      await client.sendCommand(["AUTH", credentials.username, credentials.password], {
        abortSignal: unsent.signal,
      });
    } catch (error) {
      refused = error;
    } finally {
      this.#unsentAuths.delete(unsent);
    }
    if (client.socketEpoch !== epoch) {
      // Answered on a newer socket, after its handshake: make sure the newest credentials win.
      const current = this.#provider.current();
      if (
        refused === undefined &&
        current !== undefined &&
        !sameCredentials(current, credentials)
      ) {
        return this.#reauthenticate(current);
      }
      return;
    }
    if (refused === undefined) {
      this.#onServer = credentials;
      this.#provider.lastReauthAt = Date.now();
      this.#tracker.accepted();
      return;
    }
    // Dropped with its socket, or the client closed: the next handshake sends current credentials.
    if (!isCredentialsRejection(refused)) return;
    this.#provider.reauthFailures += 1;
    const outcome = await this.#tracker
      .rejected(credentials, refused, this.#stop.signal)
      .catch(() => undefined);
    if (outcome === undefined) return;
    const retry = this.#reauthenticate(outcome.credentials);
    if (outcome.error === undefined) return retry;
    retry?.catch(() => {});
    this.#provider.report(outcome.error, this);
    throw outcome.error;
  }

  /** The client's `ready` event: the handshake went through. */
  onReady(): void {
    if (this.client !== undefined) forgetExpectedCloses(this.client);
    if (this.handshake !== undefined) this.#onServer = this.handshake;
    this.#handshakePending = false;
    this.#handshakeRefusal = undefined;
    this.#tracker.accepted();
    // New credentials arrived while the handshake was in flight.
    const current = this.#provider.current();
    const onServer = this.#onServer;
    if (current !== undefined && onServer !== undefined && !sameCredentials(current, onServer)) {
      void this.#reauthenticate(current)?.catch(() => {});
    }
  }

  /** The client's `reconnecting` event: AUTHs still queued would follow the next handshake. */
  dropUnsentAuths(): void {
    for (const unsent of this.#unsentAuths) unsent.abort();
    this.#unsentAuths.clear();
  }
}
