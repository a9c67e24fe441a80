import { startTimer } from "./clock";
import { sameCredentials } from "./credentials";
import { describeError } from "./describe-error";
import { diagnosticsChannels, publish } from "./diagnostics";
import {
  CredentialsError,
  CredentialsExpiredError,
  IamUnavailableError,
  isPermanent,
  ManagerDisposedError,
} from "./errors";
import { iamUnavailableCode } from "./iam-reply";
import {
  createRejectionTracker,
  isCredentialsRejection,
  type RejectionTracker,
} from "./rejection-tracker";
import { backoffDelay } from "./schedule";
import type { SessionGroup } from "./session-group";
import type { SessionPort } from "./session-port";
import type { RedisCredentials } from "./types";

type Presented = Pick<RedisCredentials, "username" | "password">;

/**
 * Backoff after IAM could not check a token (ERR_IAM_*): the core's retry backoff (full jitter
 * above the floor, so connections turned away together come back apart), capped lower than a
 * fetch's, since a connection waits on it.
 */
const IAM_RETRY = { initialDelayMs: 250, maxDelayMs: 10_000, multiplier: 2 };

/**
 * The life of one authenticated connection, whatever the client: which credentials its
 * handshake presents and the server holds, when new credentials go out as AUTH and when they
 * wait (a transaction open, the connection not ready) or take a reconnect instead, how a refused
 * handshake or AUTH is answered (one forced refresh, then one error and backoff), and the wait
 * for valid credentials before a handshake, bounded by the connect timeout. Everything is timed
 * on the manager's clock. The adapter maps its client's hooks onto the methods below and
 * supplies a {@link SessionPort}.
 */
export class ConnectionSession {
  readonly #group: SessionGroup;
  readonly #port: SessionPort;
  /** Made at the first refusal: most connections are never refused (memory per connection). */
  #tracker: RejectionTracker | undefined;
  readonly #detach: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Aborts waits (for credentials, for a rejection's backoff) when the session ends; made when one starts. */
  #stop: AbortController | undefined;
  /** What the current (or last) handshake presents. */
  #handshake: Presented | undefined;
  #handshakePending = false;
  /** What refused the last handshake, answered by the next one. */
  #refusal: { cause: unknown } | undefined;
  /** The credentials the server holds for this connection. */
  #onServer: Presented | undefined;
  /** An AUTH sent and not answered yet: the same credentials again need no second one. */
  #sending: Presented | undefined;
  /** Counts handshakes that reached ready, so that replies from an older socket are recognised. */
  #epoch = 0;
  /** Consecutive ERR_IAM_* replies: the backoff grows with them. */
  #iamAttempts = 0;
  #inTransaction = false;
  #authDeferred = false;
  #reconnectRequested = false;

  /** `detach` undoes the adapter's hooks on the connection when the binding is disposed. */
  constructor(group: SessionGroup, port: SessionPort, detach?: () => void) {
    this.#group = group;
    this.#port = port;
    this.#detach = detach;
    group.track(this, "attached");
  }

  /** Whether a handshake of this connection ever succeeded: a failed first connect is final. */
  get everReady(): boolean {
    return this.#epoch > 0;
  }

  /** Starts listening for new credentials (a connect began). Idempotent. */
  start(): void {
    if (this.#unsubscribe !== undefined || this.#group.managerDisposed) return;
    this.#unsubscribe = this.#group.manager.subscribe((credentials) =>
      this.#credentialsArrived(credentials),
    );
    this.#group.track(this, "live");
  }

  /** The connection closed for good: stop listening and waiting. It may `start()` again. */
  end(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#stop?.abort();
    this.#stop = undefined;
    this.#group.track(this, "ended");
    this.#port.ended?.();
  }

  /** The binding is disposed: end, and undo the adapter's hooks. */
  dispose(): void {
    this.end();
    this.#detach?.();
  }

  /** A handshake the session did not choose is already under way with these credentials. */
  handshakeStarted(presented: Presented): void {
    this.#handshake = presented;
    this.#handshakePending = true;
    this.start();
  }

  /**
   * The credentials the next handshake presents: after a refused one, the rejection policy's
   * answer (a forced refresh; after that, one error and backoff), after an ERR_IAM_* reply a
   * backoff; then the manager's valid credentials, waiting for them up to the connect timeout
   * when it holds none, or for fresh ones when those it holds expire within its
   * `minHandshakeLifetimeMs` (presenting the held ones if that refresh fails or outlasts the
   * connect timeout while they are still valid).
   */
  async handshakeCredentials(signal?: AbortSignal): Promise<RedisCredentials> {
    this.start();
    this.#inTransaction = false;
    this.#authDeferred = false;
    this.#handshakePending = true;
    const refusal = this.#refusal;
    const refused = this.#handshake;
    this.#refusal = undefined;
    if (refusal !== undefined && refused !== undefined) {
      if (iamUnavailableCode(refusal.cause) !== undefined) {
        await this.#iamBackoff(refusal.cause, signal);
      } else {
        this.#group.reauthFailures += 1;
        const outcome = await this.#rejections()
          .rejected(this.#full(refused), refusal.cause, this.#stopSignal())
          .catch(() => undefined);
        if (outcome?.error) this.#port.reportError(outcome.error);
      }
    }
    const credentials = await this.#waitForCredentials(signal);
    this.#handshake = credentials;
    return credentials;
  }

  /**
   * Whether a handshake that failed with `error` ends the connect for good: a first connect
   * fails with what the fetch failed with, a permanent error or a disposed manager never heals;
   * a reconnect otherwise keeps trying until the source recovers.
   */
  failsForGood(error: unknown): boolean {
    if (error instanceof ManagerDisposedError || isPermanent(error)) return true;
    return !this.everReady && error instanceof CredentialsError;
  }

  /**
   * Redis refused a handshake in flight with WRONGPASS/NOAUTH, or IAM could not check its token
   * (ERR_IAM_*) (perhaps this one's: a client that
   * cannot tell which of its connections was refused may tell all of them, since one that was
   * not refused clears it when it becomes ready). The next handshake answers it.
   */
  handshakeRefused(cause: unknown): void {
    if (this.#handshakePending && this.#refusal === undefined) this.#refusal = { cause };
  }

  /** Whether the client should reconnect without its usual delay (the session paces it). */
  retryAtOnce(): boolean {
    if (this.#reconnectRequested) {
      this.#reconnectRequested = false;
      return true;
    }
    return this.#refusal !== undefined;
  }

  /** The handshake went through: the server holds what it presented. */
  ready(): void {
    this.#epoch += 1;
    this.#sending = undefined; // an AUTH still unanswered went to the previous socket
    this.#handshakePending = false;
    this.#refusal = undefined;
    this.#iamAttempts = 0;
    this.#tracker?.accepted();
    if (this.#handshake !== undefined) this.#onServer = this.#handshake;
    // New credentials may have arrived while the handshake was in flight.
    const current = this.#group.current();
    if (current !== undefined && !this.#holds(current)) this.#reauthenticateQuietly(current);
  }

  /**
   * A MULTI was queued: AUTH would run inside the transaction, so it waits for EXEC/DISCARD.
   * Returns false for a nested MULTI (Redis refuses it; the open transaction stays open).
   */
  transactionStarted(): boolean {
    if (this.#inTransaction) return false;
    this.#inTransaction = true;
    return true;
  }

  /** EXEC or DISCARD was queued (or MULTI failed): an AUTH queued now follows it. */
  transactionEnded(): void {
    this.#inTransaction = false;
    if (!this.#authDeferred) return;
    this.#authDeferred = false;
    const current = this.#group.current();
    if (current !== undefined) this.#reauthenticateQuietly(current);
  }

  /**
   * New credentials for this connection (from the manager's staggered fan-out, or a retry). The
   * promise rejects only with an error handed to the user, so the manager reports it too.
   */
  #credentialsArrived(credentials: RedisCredentials): Promise<void> | undefined {
    const state = this.#port.connectionState();
    if (state === "ended") {
      this.end();
      return undefined;
    }
    // Already held (a reconnect's handshake presented them before their turn in the fan-out),
    // or on their way: another AUTH, or another reconnect, would change nothing.
    if (this.#holds(credentials)) return undefined;
    if (this.#sending !== undefined && sameCredentials(this.#sending, credentials)) {
      return undefined;
    }
    switch (state) {
      case "connecting":
        return undefined; // the handshake presents current credentials, or ready() sends them
      case "reconnect-to-reauthenticate":
        this.#reconnectRequested = true;
        this.#port.reconnect();
        return undefined;
      case "ready":
        if (this.#inTransaction) {
          this.#authDeferred = true;
          return undefined;
        }
        return this.#sendAuth(credentials);
    }
  }

  #reauthenticateQuietly(credentials: RedisCredentials): void {
    this.#credentialsArrived(credentials)?.catch(() => {});
  }

  async #sendAuth(credentials: RedisCredentials): Promise<void> {
    const epoch = this.#epoch;
    let refusal: unknown;
    this.#sending = credentials;
    try {
      await this.#port.sendAuth(credentials);
    } catch (error) {
      refusal = error;
    } finally {
      if (this.#sending === credentials) this.#sending = undefined;
    }
    if (epoch !== this.#epoch) {
      // Answered after a reconnect, whose handshake sent current credentials; an older AUTH
      // that went through after it may have replaced them: make sure the newest win.
      if (refusal !== undefined) return;
      this.#onServer = credentials;
      const current = this.#group.current();
      if (current !== undefined && !sameCredentials(current, credentials)) {
        return this.#credentialsArrived(current);
      }
      return;
    }
    if (refusal === undefined) {
      this.#onServer = credentials;
      this.#group.lastReauthAt = this.#group.manager.clock.now();
      this.#iamAttempts = 0;
      this.#tracker?.accepted();
      this.#published("success");
      return;
    }
    if (iamUnavailableCode(refusal) !== undefined || isCredentialsRejection(refusal)) {
      this.#published("failure", refusal);
    }
    if (iamUnavailableCode(refusal) !== undefined) {
      // The server still holds the previous credentials: try again after the backoff.
      await this.#iamBackoff(refusal);
      const current = this.#group.current();
      if (current === undefined || this.#unsubscribe === undefined) return;
      return this.#credentialsArrived(current);
    }
    if (!isCredentialsRejection(refusal)) {
      // The adapter's own typed error, which it has reported: the manager reports it too.
      if (refusal instanceof CredentialsError) {
        this.#published("failure", refusal);
        throw refusal;
      }
      // Dropped with its socket, or the client closed: the next handshake sends current ones.
      return;
    }
    this.#group.reauthFailures += 1;
    const outcome = await this.#rejections()
      .rejected(credentials, refusal, this.#stopSignal())
      .catch(() => undefined);
    if (outcome === undefined) return;
    const retry = this.#credentialsArrived(outcome.credentials);
    if (outcome.error === undefined) return retry;
    retry?.catch(() => {});
    this.#port.reportError(outcome.error);
    throw outcome.error;
  }

  /** Publishes a re-AUTH's answer on `redis-credentials:reauth` (for metrics). */
  #published(outcome: "success" | "failure", error?: unknown): void {
    const { manager, id } = this.#group;
    publish(diagnosticsChannels.reauth, {
      manager: manager.id,
      source: manager.name,
      client: id,
      target: this.#port.target,
      outcome,
      ...(error !== undefined && { error: describeError(error) }),
    });
  }

  /**
   * IAM could not check the token: not a refusal, so no forced refresh. Report it, and wait a
   * backoff that grows while the replies last (ended early when the session ends).
   */
  async #iamBackoff(cause: unknown, signal?: AbortSignal): Promise<void> {
    const code = iamUnavailableCode(cause)!;
    const delayMs = backoffDelay(this.#iamAttempts, IAM_RETRY);
    this.#iamAttempts += 1;
    this.#group.iamRetries += 1;
    this.#port.reportError(new IamUnavailableError(code, this.#port.target, delayMs, { cause }));
    const stop = AbortSignal.any([this.#stopSignal(), ...(signal ? [signal] : [])]);
    if (stop.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = startTimer(this.#group.manager.clock, delayMs, () => {
        stop.removeEventListener("abort", aborted);
        resolve();
      });
      const aborted = () => {
        timer.cancel();
        resolve();
      };
      stop.addEventListener("abort", aborted, { once: true });
    });
  }

  async #waitForCredentials(signal: AbortSignal | undefined): Promise<RedisCredentials> {
    const { manager } = this.#group;
    const timeoutMs = this.#port.connectTimeoutMs;
    const timeout = new AbortController();
    const timer = startTimer(manager.clock, timeoutMs, () => timeout.abort());
    const signals = [this.#stopSignal(), timeout.signal, ...(signal ? [signal] : [])];
    try {
      return await manager.getCredentials({ signal: AbortSignal.any(signals), forHandshake: true });
    } catch (error) {
      if (error instanceof ManagerDisposedError) throw error;
      // Waiting for fresher credentials failed or took too long: the held ones still work.
      const held = this.#group.current();
      if (held !== undefined) return held;
      // A first connect fails with what the fetch failed with; a reconnect says it waited.
      if (!this.everReady && error instanceof CredentialsError) throw error;
      const lastError = manager.status().lastError;
      throw new CredentialsExpiredError(
        `No valid credentials to connect to ${this.#port.target} within connectTimeout (${timeoutMs} ms): ` +
          `source "${manager.name}" has not produced new ones${lastError ? ` (${lastError.message})` : ""}. ` +
          "The client keeps retrying and reconnects by itself when the source recovers.",
        { cause: lastError ?? error },
      );
    } finally {
      timer.cancel();
    }
  }

  #rejections(): RejectionTracker {
    const { manager } = this.#group;
    this.#tracker ??= createRejectionTracker(manager, { clock: manager.clock });
    return this.#tracker;
  }

  /** Aborted when the session ends (it is not listening: already ended). */
  #stopSignal(): AbortSignal {
    if (this.#unsubscribe === undefined) return AbortSignal.abort();
    this.#stop ??= new AbortController();
    return this.#stop.signal;
  }

  #holds(credentials: RedisCredentials): boolean {
    return this.#onServer !== undefined && sameCredentials(this.#onServer, credentials);
  }

  /** The tracker compares credentials by user name and password only. */
  #full(presented: Presented): RedisCredentials {
    return "expiresAt" in presented
      ? (presented as RedisCredentials)
      : { ...presented, expiresAt: Number.POSITIVE_INFINITY };
  }
}
