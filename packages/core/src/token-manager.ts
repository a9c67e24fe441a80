import { startTimer, type Timer } from "./clock";
import { sameCredentials, validateSourceResult } from "./credentials";
import { describeError, isInstance } from "./describe-error";
import { diagnosticsChannels, publish } from "./diagnostics";
import {
  CredentialsExpiredError,
  CredentialsFetchError,
  InvalidOptionsError,
  isPermanent,
  ManagerDisposedError,
} from "./errors";
import { type ResolvedOptions, resolveOptions } from "./options";
import { retryAfterOf } from "./retry-after";
import { backoffDelay, refreshDelay, refreshWindow } from "./schedule";
import type {
  Clock,
  CredentialSource,
  CredentialsListener,
  FetchReason,
  GetCredentialsOptions,
  RedisCredentials,
  RefreshedEvent,
  TokenManager,
  TokenManagerEvent,
  TokenManagerEvents,
  TokenManagerOptions,
  TokenManagerStatus,
} from "./types";

const eventNames: readonly TokenManagerEvent[] = [
  "refreshed",
  "refreshFailed",
  "expired",
  "recovered",
  "subscriberError",
];

/** Someone waiting for the outcome of the current or next fetch attempt. */
interface Waiter {
  resolve(credentials: RedisCredentials): void;
  /** The attempt failed: reject with the error this caller is owed. */
  fail(error: CredentialsFetchError): void;
  /** Reject as is (disposal). */
  reject(error: unknown): void;
}

/** The fetch attempt in flight: how to abort it and its timeout. */
interface Attempt {
  readonly controller: AbortController;
  timeout: Timer | undefined;
  /** When it started, on the monotonic clock: its outcome's `durationMs`. */
  readonly startedAt: number;
}

interface Subscription {
  readonly listener: CredentialsListener;
  /** A delivery waiting for its turn in a staggered fan-out. */
  pending: Timer | undefined;
}

let nextManagerId = 1;

/**
 * Creates the token manager for one credential source. Share one manager across every
 * connection that uses the same identity: they then share one token and one refresh.
 */
export function createTokenManager(
  source: CredentialSource,
  options?: TokenManagerOptions,
): TokenManager {
  if (
    typeof source !== "object" ||
    source === null ||
    typeof source.fetch !== "function" ||
    typeof source.name !== "string" ||
    source.name.length === 0
  ) {
    throw new InvalidOptionsError(
      "source",
      "must be a CredentialSource: an object with a non-empty `name` and a `fetch(context)` method.",
    );
  }
  return new DefaultTokenManager(source, resolveOptions(options));
}

class DefaultTokenManager implements TokenManager {
  readonly name: string;
  readonly clock: Clock;
  readonly id = nextManagerId++;
  readonly #source: CredentialSource;
  readonly #options: ResolvedOptions;

  /** The credentials last received; kept after they expire so that a replacement fans out. */
  #current: RedisCredentials | undefined;
  /**
   * When `#current` expires on the monotonic clock: its remaining life is read from the wall
   * clock once, at receipt, so that a wall-clock step (NTP, a resumed VM) changes nothing.
   */
  #deadline = Number.NEGATIVE_INFINITY;
  #inflight: Attempt | undefined;
  /** The next attempt: when (`at` epoch ms, `due` monotonic), and whether it retries a failure. */
  #next: { timer: Timer; at: number; due: number; reason: FetchReason } | undefined;
  /** When (monotonic) the held credentials arrived: a handshake does not re-ask sooner. */
  #receivedAt = Number.NEGATIVE_INFINITY;
  /** Until when (monotonic) the source asked not to be called again (`retryAfterMs`). */
  #holdOffUntil = Number.NEGATIVE_INFINITY;
  #expiryTimer: Timer | undefined;
  /** Set while held credentials have lapsed with no replacement: when (monotonic) they did. */
  #expiredSince: number | undefined;
  /**
   * Consecutive attempts that brought no new validity (a retryable failure, or the held
   * credentials unchanged) since credentials last changed or were extended: drives the backoff.
   */
  #backoffAttempt = 0;
  #lastForcedAt = Number.NEGATIVE_INFINITY;
  #lastRefreshAt: number | undefined;
  #lastError: CredentialsFetchError | undefined;
  #disposed = false;
  readonly #counters = { fetches: 0, failures: 0, refreshes: 0 };
  readonly #waiters = new Set<Waiter>();
  readonly #subscriptions = new Set<Subscription>();
  readonly #handlers = new Map<TokenManagerEvent, Set<(...args: any[]) => void>>();
  /** Holds the process open while someone awaits a fetch (the clock's timers never do). */
  #releaseHold: (() => void) | undefined;

  constructor(source: CredentialSource, options: ResolvedOptions) {
    this.name = source.name;
    this.clock = options.clock;
    this.#source = source;
    this.#options = options;
  }

  getCredentials(options: GetCredentialsOptions = {}): Promise<RedisCredentials> {
    if (this.#disposed) return Promise.reject(new ManagerDisposedError("get credentials"));
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(new InvalidOptionsError("signal", "must be an AbortSignal."));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const valid = this.#valid();
    if (valid) {
      if (options?.forHandshake !== true || !this.#expiresSoon()) return Promise.resolve(valid);
      return this.#freshForHandshake(valid, signal);
    }

    const hadCredentials = this.#current !== undefined;
    // With no attempt running or scheduled (first call, after a failed first fetch, or after a
    // permanent error stopped the retries), this call starts one; otherwise it joins the next.
    if (this.#inflight === undefined && this.#next === undefined) {
      this.#startAttempt(hadCredentials ? "retry" : "initial");
    }
    return this.#wait(signal, (failure) =>
      hadCredentials
        ? new CredentialsExpiredError(
            `The credentials from "${this.name}" have expired and fetching new ones failed: ${failure.message}`,
            { cause: failure },
          )
        : failure,
    );
  }

  peekCredentials(): RedisCredentials | undefined {
    this.#assertLive("peek credentials");
    return this.#valid();
  }

  refresh(): Promise<RedisCredentials> {
    if (this.#disposed) return Promise.reject(new ManagerDisposedError("refresh credentials"));
    if (this.#inflight === undefined) {
      const now = this.#monotonicNow();
      const valid = this.#valid();
      if (valid && now - this.#lastForcedAt < this.#options.minRefreshIntervalMs) {
        return Promise.resolve(valid);
      }
      // The source asked for quiet (Retry-After): a forced refresh neither calls it nor waits.
      if (now < this.#holdOffUntil) {
        return valid ? Promise.resolve(valid) : Promise.reject(this.#lastError);
      }
      this.#lastForcedAt = now;
      this.#startAttempt(this.#current === undefined ? "initial" : "forced");
    }
    return this.#wait(undefined, (failure) => failure);
  }

  subscribe(listener: CredentialsListener): () => void {
    this.#assertLive("subscribe");
    if (typeof listener !== "function") {
      throw new InvalidOptionsError("listener", "must be a function that takes credentials.");
    }
    const subscription: Subscription = { listener, pending: undefined };
    this.#subscriptions.add(subscription);
    return () => {
      subscription.pending?.cancel();
      this.#subscriptions.delete(subscription);
    };
  }

  on<E extends TokenManagerEvent>(event: E, handler: TokenManagerEvents[E]): this {
    this.#assertLive("add an event handler");
    if (!eventNames.includes(event)) {
      throw new InvalidOptionsError(
        "event",
        `must be one of ${eventNames.join(", ")}; got ${String(event)}.`,
      );
    }
    if (typeof handler !== "function") {
      throw new InvalidOptionsError("handler", "must be a function.");
    }
    let handlers = this.#handlers.get(event);
    if (handlers === undefined) {
      handlers = new Set();
      this.#handlers.set(event, handlers);
    }
    handlers.add(handler);
    return this;
  }

  off(event: string, handler: (...args: any[]) => void): this {
    this.#handlers.get(event as TokenManagerEvent)?.delete(handler);
    return this;
  }

  status(): TokenManagerStatus {
    const current = this.#current;
    return {
      state: this.#state(),
      source: this.name,
      ...(current && { username: current.username, expiresAt: current.expiresAt }),
      ...(this.#next && { nextRefreshAt: this.#next.at }),
      ...(this.#lastRefreshAt !== undefined && { lastRefreshAt: this.#lastRefreshAt }),
      ...(this.#lastError && { lastError: this.#lastError }),
      counters: { ...this.#counters, subscribers: this.#subscriptions.size },
    };
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#cancelNext();
    this.#expiryTimer?.cancel();
    this.#inflight?.timeout?.cancel();
    this.#inflight?.controller.abort(new ManagerDisposedError("fetch credentials"));
    this.#inflight = undefined;
    for (const subscription of this.#subscriptions) subscription.pending?.cancel();
    this.#subscriptions.clear();
    this.#handlers.clear();
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    this.#updateHold();
    for (const waiter of waiters) waiter.reject(new ManagerDisposedError("get credentials"));
    this.#current = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  // --- fetching -------------------------------------------------------------------------

  #startAttempt(reason: FetchReason): void {
    this.#cancelNext();
    const attempt: Attempt = {
      controller: new AbortController(),
      timeout: undefined,
      startedAt: this.#monotonicNow(),
    };
    this.#inflight = attempt;
    this.#counters.fetches++;
    publish(diagnosticsChannels.fetch, {
      ...this.#tag(),
      reason,
      attempt: this.#backoffAttempt,
    });
    this.#fetchOnce(reason, attempt).then(
      (value) => {
        if (this.#inflight !== attempt) return; // disposed meanwhile
        this.#inflight = undefined;
        const durationMs = this.#durationOf(attempt);
        let credentials: RedisCredentials;
        try {
          credentials = validateSourceResult(this.name, value, this.#options.clock.now());
        } catch (error) {
          this.#onFailure(error, reason, durationMs);
          return;
        }
        this.#onSuccess(credentials, reason, durationMs);
      },
      (error: unknown) => {
        if (this.#inflight !== attempt) return;
        this.#inflight = undefined;
        this.#onFailure(error, reason, this.#durationOf(attempt));
      },
    );
  }

  /** One call to the source, bounded by `fetchTimeoutMs`; a late answer is ignored. */
  #fetchOnce(reason: FetchReason, attempt: Attempt): Promise<unknown> {
    const { controller } = attempt;
    return new Promise((resolve, reject) => {
      const { fetchTimeoutMs, clock } = this.#options;
      const timeout = startTimer(clock, fetchTimeoutMs, () => {
        const error = new CredentialsFetchError(
          this.name,
          `Credential source "${this.name}" did not answer within ${fetchTimeoutMs} ms (fetchTimeoutMs); the attempt was aborted.`,
        );
        controller.abort(error);
        reject(error);
      });
      attempt.timeout = timeout;
      let answer: Promise<unknown>;
      try {
        answer = Promise.resolve(this.#source.fetch({ signal: controller.signal, reason }));
      } catch (error) {
        answer = Promise.reject(error);
      }
      answer.then(
        (value) => {
          timeout.cancel();
          resolve(value);
        },
        (error: unknown) => {
          timeout.cancel();
          reject(error);
        },
      );
    });
  }

  #durationOf(attempt: Attempt): number {
    return Math.max(0, this.#monotonicNow() - attempt.startedAt);
  }

  #onSuccess(credentials: RedisCredentials, reason: FetchReason, durationMs: number): void {
    const now = this.#options.clock.now();
    const previous = this.#current;
    this.#holdOffUntil = Number.NEGATIVE_INFINITY;

    if (previous && sameCredentials(previous, credentials)) {
      // Identity libraries cache tokens: the same token again is no refresh and no fan-out.
      this.#lastError = undefined;
      if (credentials.expiresAt > previous.expiresAt) {
        this.#hold(credentials, now);
        this.#backoffAttempt = 0;
        this.#scheduleRefresh(credentials, now);
      } else if (credentials.expiresAt === Number.POSITIVE_INFINITY) {
        // Credentials that never expire need no asking again, whatever brought this fetch.
        this.#scheduleRefresh(previous, now);
      } else {
        this.#scheduleAt(backoffDelay(this.#backoffAttempt++, this.#options.retry), "retry");
      }
      publish(diagnosticsChannels.unchanged, {
        ...this.#tag(),
        reason,
        durationMs,
        expiresAt: this.#current?.expiresAt,
        nextRefreshAt: this.#next?.at,
      });
      this.#endExpiredEpisode();
      this.#settleWaiters(undefined);
      return;
    }

    const previousDeadline = this.#deadline;
    this.#hold(credentials, now);
    this.#backoffAttempt = 0;
    this.#lastError = undefined;
    this.#lastRefreshAt = now;
    this.#counters.refreshes++;
    const window = this.#scheduleRefresh(credentials, now);
    const refreshed: RefreshedEvent = {
      source: this.name,
      reason,
      username: credentials.username,
      expiresAt: credentials.expiresAt,
      ...(this.#next && { nextRefreshAt: this.#next.at }),
      ...(window && { refreshWindow: window }),
    };
    publish(diagnosticsChannels.refreshed, { ...this.#tag(), ...refreshed, durationMs });
    this.#emit("refreshed", refreshed);
    this.#endExpiredEpisode();
    if (previous) this.#fanOut(credentials, previousDeadline);
    this.#settleWaiters(undefined);
  }

  #onFailure(error: unknown, reason: FetchReason, durationMs: number): void {
    this.#counters.failures++;
    const failure = isInstance(error, CredentialsFetchError)
      ? error
      : new CredentialsFetchError(
          this.name,
          `Credential source "${this.name}" failed to fetch credentials (${reason}): ${describeError(error).message}`,
          { cause: error },
        );
    this.#lastError = failure;
    const retryable = this.#isRetryable(error);
    // Only held credentials keep a retry loop going: after a failed first fetch the manager
    // stays idle and the next caller starts a new attempt.
    if (this.#current !== undefined && retryable) this.#scheduleRetry(error);
    publish(diagnosticsChannels.refreshFailed, {
      ...this.#tag(),
      reason,
      durationMs,
      error: describeError(failure),
      permanent: !retryable,
      nextRefreshAt: this.#next?.at,
    });
    this.#emit("refreshFailed", failure);
    this.#settleWaiters(failure);
  }

  /**
   * The next attempt after a retryable failure: the jittered backoff, or the wait the source's
   * error asks for (`retryAfterMs`) when that is longer, uncapped (see `RetryOptions`).
   */
  #scheduleRetry(error: unknown): void {
    const backoff = backoffDelay(this.#backoffAttempt++, this.#options.retry);
    const asked = retryAfterOf(error);
    if (asked === undefined || asked <= backoff) {
      this.#holdOffUntil = Number.NEGATIVE_INFINITY;
      this.#scheduleAt(backoff, "retry");
      return;
    }
    this.#holdOffUntil = this.#monotonicNow() + asked;
    this.#scheduleAt(asked, "retry");
  }

  #isRetryable(error: unknown): boolean {
    const custom = this.#options.retry.isRetryable;
    if (custom === undefined) return !isPermanent(error);
    try {
      return custom(error) !== false;
    } catch {
      return true; // a broken predicate must not stop the refresh loop for good
    }
  }

  // --- timers ---------------------------------------------------------------------------

  /** Schedules the refresh of fresh credentials; returns the window it was drawn from. */
  #scheduleRefresh(
    credentials: RedisCredentials,
    now: number,
  ): { earliest: number; latest: number } | undefined {
    const lifetime = credentials.expiresAt - now;
    const hint = credentials.refreshAt === undefined ? undefined : credentials.refreshAt - now;
    if (lifetime === Number.POSITIVE_INFINITY && hint === undefined) {
      this.#cancelNext();
      return undefined;
    }
    this.#scheduleAt(refreshDelay(lifetime, hint, this.#options), "scheduled");
    if (lifetime === Number.POSITIVE_INFINITY) return undefined;
    const window = refreshWindow(lifetime, this.#options);
    return {
      earliest: now + Math.floor(window.earliestMs),
      latest: now + Math.ceil(window.latestMs),
    };
  }

  #scheduleAt(delay: number, reason: FetchReason): void {
    this.#cancelNext();
    // Whole milliseconds: every timestamp the API hands out is an integer.
    const delayMs = Math.ceil(delay);
    const timer = startTimer(this.#options.clock, delayMs, () => {
      this.#next = undefined;
      this.#startAttempt(reason);
    });
    this.#next = {
      timer,
      at: this.#options.clock.now() + delayMs,
      due: this.#monotonicNow() + delayMs,
      reason,
    };
  }

  #cancelNext(): void {
    this.#next?.timer.cancel();
    this.#next = undefined;
  }

  /** Makes `credentials` the ones held, with their deadline and expiry timer. */
  #hold(credentials: RedisCredentials, now: number): void {
    const lifetime = credentials.expiresAt - now;
    this.#current = credentials;
    this.#receivedAt = this.#monotonicNow();
    this.#deadline = this.#receivedAt + lifetime;
    this.#expiryTimer?.cancel();
    this.#expiryTimer = undefined;
    if (lifetime === Number.POSITIVE_INFINITY) return;
    this.#expiryTimer = startTimer(this.#options.clock, lifetime, () => {
      this.#expiryTimer = undefined;
      if (this.#expiredSince !== undefined || this.#current !== credentials) return;
      this.#expiredSince = this.#monotonicNow();
      const event = {
        source: this.name,
        expiredAt: credentials.expiresAt,
        ...(this.#lastError && { lastError: this.#lastError }),
      };
      publish(diagnosticsChannels.expired, { ...this.#tag(), expiredAt: credentials.expiresAt });
      this.#emit("expired", event);
    });
  }

  #endExpiredEpisode(): void {
    if (this.#expiredSince === undefined) return;
    const downtimeMs = Math.round(Math.max(0, this.#monotonicNow() - this.#expiredSince));
    const event = { source: this.name, downtimeMs };
    this.#expiredSince = undefined;
    publish(diagnosticsChannels.recovered, { ...this.#tag(), downtimeMs: event.downtimeMs });
    this.#emit("recovered", event);
  }

  // --- handshakes --------------------------------------------------------------------------

  /** Whether the valid credentials held expire within `minHandshakeLifetimeMs`. */
  #expiresSoon(): boolean {
    return this.#deadline - this.#monotonicNow() < this.#options.minHandshakeLifetimeMs;
  }

  /**
   * Credentials for a handshake when the held ones are about to expire: the outcome of the
   * attempt in flight, or of the retry due before they expire, or of a refresh started now; the
   * held ones when that fails while they are still valid, or when no attempt is worth waiting
   * for (they just arrived, or retries back off past their expiry).
   */
  #freshForHandshake(held: RedisCredentials, signal?: AbortSignal): Promise<RedisCredentials> {
    if (this.#inflight === undefined) {
      const now = this.#monotonicNow();
      const next = this.#next;
      if (next?.reason === "retry") {
        if (next.due >= this.#deadline || now < this.#holdOffUntil) return Promise.resolve(held);
      } else if (now - this.#receivedAt < this.#options.minRefreshIntervalMs) {
        return Promise.resolve(held);
      } else {
        // The scheduled refresh, brought forward.
        this.#startAttempt("scheduled");
      }
    }
    return this.#wait(signal, (failure) => failure).catch((error: unknown) => {
      const valid = this.#valid();
      if (valid && error instanceof CredentialsFetchError) return valid;
      if (error instanceof CredentialsFetchError) {
        throw new CredentialsExpiredError(
          `The credentials from "${this.name}" have expired and fetching new ones failed: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    });
  }

  // --- waiting and fan-out ----------------------------------------------------------------

  #wait(
    signal: AbortSignal | undefined,
    onFailure: (failure: CredentialsFetchError) => Error,
  ): Promise<RedisCredentials> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        this.#updateHold();
        reject(signal?.reason);
      };
      const done = () => signal?.removeEventListener("abort", onAbort);
      const waiter: Waiter = {
        resolve: (credentials) => {
          done();
          resolve(credentials);
        },
        fail: (failure) => {
          done();
          reject(onFailure(failure));
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      this.#updateHold();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Ends the wait of everyone waiting on this attempt; with no usable outcome, they wait on. */
  #settleWaiters(failure: CredentialsFetchError | undefined): void {
    const valid = this.#valid();
    if (failure === undefined && valid === undefined) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    this.#updateHold();
    for (const waiter of waiters) {
      if (failure) waiter.fail(failure);
      else if (valid) waiter.resolve(valid);
    }
  }

  /**
   * Hands new credentials to every subscriber at a staggered time within min(reauthSpreadMs, half
   * the time the previous credentials had left, half the life of the new ones), so that the
   * server does not get every connection's AUTH at once, all of them land before the old expiry,
   * and none receives credentials that have already expired.
   */
  #fanOut(credentials: RedisCredentials, previousDeadline: number): void {
    const subscriptions = [...this.#subscriptions];
    if (subscriptions.length === 0) return;
    const now = this.#monotonicNow();
    const previousLeft = Math.max(0, previousDeadline - now);
    const newLeft = Math.max(0, this.#deadline - now);
    const spreadMs = Math.floor(
      Math.min(this.#options.reauthSpreadMs, previousLeft / 2, newLeft / 2),
    );
    publish(diagnosticsChannels.fanOut, {
      ...this.#tag(),
      subscribers: subscriptions.length,
      spreadMs,
    });
    subscriptions.forEach((subscription, index) => {
      // A delivery still waiting for older credentials is replaced: it hears only the newest.
      subscription.pending?.cancel();
      subscription.pending = undefined;
      if (spreadMs === 0) {
        this.#deliver(subscription, credentials);
        return;
      }
      // One random point inside each subscriber's own slice: evenly staggered, never in step.
      const offset = (spreadMs * (index + Math.random())) / subscriptions.length;
      subscription.pending = startTimer(this.#options.clock, offset, () => {
        subscription.pending = undefined;
        this.#deliver(subscription, credentials);
      });
    });
  }

  #deliver(subscription: Subscription, credentials: RedisCredentials): void {
    if (!this.#subscriptions.has(subscription)) return;
    try {
      const result = subscription.listener(credentials) as PromiseLike<unknown> | undefined;
      if (result && typeof result.then === "function") {
        result.then(undefined, (error: unknown) => this.#reportSubscriberError(error));
      }
    } catch (error) {
      this.#reportSubscriberError(error);
    }
  }

  #reportSubscriberError(error: unknown): void {
    if (this.#disposed) return;
    publish(diagnosticsChannels.subscriberError, { ...this.#tag(), error: describeError(error) });
    this.#emit("subscriberError", error);
  }

  // --- events and state --------------------------------------------------------------------

  #emit<E extends TokenManagerEvent>(
    event: E,
    payload: Parameters<TokenManagerEvents[E]>[0],
  ): void {
    const handlers = this.#handlers.get(event);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        handler(payload);
      } catch (error) {
        // A throwing handler must not break the lifecycle; it is reported like a subscriber.
        if (event !== "subscriberError") this.#reportSubscriberError(error);
      }
    }
  }

  #valid(): RedisCredentials | undefined {
    return this.#current && this.#monotonicNow() < this.#deadline ? this.#current : undefined;
  }

  #monotonicNow(): number {
    const { clock } = this.#options;
    return clock.monotonicNow ? clock.monotonicNow() : clock.now();
  }

  /** Holds the process open exactly while someone waits, through the clock that can. */
  #updateHold(): void {
    if (this.#waiters.size > 0) {
      this.#releaseHold ??= this.#options.clock.keepProcessAlive?.();
    } else {
      this.#releaseHold?.();
      this.#releaseHold = undefined;
    }
  }

  #state(): TokenManagerStatus["state"] {
    if (this.#disposed) return "disposed";
    if (this.#current === undefined) return this.#inflight ? "acquiring" : "idle";
    return this.#valid() ? "ready" : "expired";
  }

  #assertLive(operation: string): void {
    if (this.#disposed) throw new ManagerDisposedError(operation);
  }

  #tag() {
    return { manager: this.id, source: this.name };
  }
}
