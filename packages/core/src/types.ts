/** What a credential source returns and the token manager hands out. */
export interface RedisCredentials {
  /** The Redis (ACL) user name; `'default'` where the server wants no user name. */
  readonly username: string;
  /**
   * The token or password. Credentials made by the manager keep it readable here but hide it
   * from `util.inspect`, `JSON.stringify`, `String()` and object spread: copy credentials by field.
   */
  readonly password: string;
  /** When the credentials stop working, in epoch milliseconds; `Infinity` for ones that never expire. */
  readonly expiresAt: number;
  /** Optional hint from the source (epoch ms): refresh no later than this. */
  readonly refreshAt?: number;
}

/** Why the manager is fetching. */
export type FetchReason = "initial" | "scheduled" | "forced" | "retry";

/** Passed to {@link CredentialSource.fetch} on every attempt. */
export interface FetchContext {
  /** Aborted when the attempt times out (`fetchTimeoutMs`) or the manager is disposed. */
  readonly signal: AbortSignal;
  readonly reason: FetchReason;
}

/** Implement this to plug any identity provider into a token manager. */
export interface CredentialSource {
  /** Shown in errors, events and diagnostics (never a secret). */
  readonly name: string;
  fetch(context: FetchContext): Promise<RedisCredentials>;
}

/** The manager's only view of time; inject a fake one in tests. */
export interface Clock {
  /** Wall-clock time in epoch milliseconds, as tokens' expiry times are written. */
  now(): number;
  /**
   * A reading in milliseconds that only moves forward at the pace of real time, whatever happens
   * to the wall clock. A token's remaining life is read from `now()` once, at receipt, and
   * counted on this from then on, so that a wall-clock step neither makes a valid token look
   * expired nor an expired one valid.
   * @default `now()`, for clocks written before it existed
   */
  monotonicNow?(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Keeps the process alive until the returned function is called. The manager's timers never
   * do (a manager alone must not keep a process running), but a caller awaiting
   * `getCredentials()` should not see the process exit under it.
   * @default nothing is held (fake clocks)
   */
  keepProcessAlive?(): () => void;
}

export interface RetryOptions {
  /**
   * The shortest wait before another attempt, and the base of the exponential backoff.
   * @default 250
   */
  initialDelayMs?: number;
  /**
   * The longest wait between attempts. Retries never stop on their own: they go on at this
   * pace until the source answers, because a manager that gives up leaves every connection to die.
   * @default 30_000
   */
  maxDelayMs?: number;
  /**
   * Growth of the backoff ceiling per failed attempt.
   * @default 2
   */
  multiplier?: number;
  /**
   * Decides whether a failed attempt is retried; a `false` stops the retry loop (credentials
   * already held are still served until they expire).
   * @default every error not marked with `markPermanent`
   */
  isRetryable?: (error: unknown) => boolean;
}

export interface TokenManagerOptions {
  /**
   * Refresh after this share of the token's lifetime.
   * @default 0.75
   */
  refreshRatio?: number;
  /**
   * Refresh at least this long before expiry (Azure asks for 3 minutes or more), unless that is
   * less than half the lifetime.
   * @default 300_000
   */
  refreshBeforeExpiryMs?: number;
  /**
   * No scheduled refresh sooner than this after receipt, and no forced refresh sooner than this
   * after the last forced one.
   * @default 5_000
   */
  minRefreshIntervalMs?: number;
  /**
   * The scheduled refresh lands at a random point of a window this wide (at most a tenth of the
   * lifetime) that ends at the target, so a fleet started together does not refresh in step.
   * @default 30_000
   */
  refreshJitterMs?: number;
  /**
   * One fetch attempt is aborted (through its signal) and counted as failed after this.
   * @default 10_000
   */
  fetchTimeoutMs?: number;
  /**
   * Backoff between failed attempts. When the failed attempt's error, or an error in its `cause`
   * chain, carries a `retryAfterMs` (see `RetryAfter`: the identity provider answered 429 or
   * 503 with `Retry-After`), the next attempt waits the longer of that and the jittered backoff.
   * That wait is not capped at `maxDelayMs`, which bounds the manager's own guess, not a wait the
   * server asked for: asking earlier only earns another refusal and can prolong the throttling.
   * It is honoured even past the held credentials' expiry (they then expire, with the `expired`
   * event, and callers of `getCredentials()` wait for that attempt within their own signal),
   * but nothing else waits on it: a forced `refresh()` during it answers at once with the held
   * credentials (or rejects with the last failure when none are valid), and a handshake presents
   * the held credentials rather than waiting for it.
   */
  retry?: RetryOptions;
  /**
   * Subscribers hear of new credentials at staggered times over
   * min(this, half the time the previous credentials had left), so that a server does not get
   * every connection's AUTH at once.
   * @default 5_000
   */
  reauthSpreadMs?: number;
  /**
   * A connection handshake (connect or reconnect) that starts while the held credentials expire
   * within this long waits for fresh ones instead of presenting a token that could expire
   * mid-handshake: it joins the fetch in flight, or the retry due before the held credentials
   * expire, or starts the refresh now. It presents the held credentials anyway when that refresh
   * fails while they are still valid, when they arrived less than `minRefreshIntervalMs` ago (the
   * source hands out tokens this short), or when retries are backing off past their expiry
   * (a handshake must not defeat the backoff or a `Retry-After`). Measured on the clock's
   * monotonic reading. `0` turns this off.
   * @default 2_000
   */
  minHandshakeLifetimeMs?: number;
  /**
   * Time source.
   * @default real timers, unref'd so that a manager never keeps a process alive
   */
  clock?: Clock;
}

export type TokenManagerState = "idle" | "acquiring" | "ready" | "expired" | "disposed";

export interface TokenManagerStatus {
  readonly state: TokenManagerState;
  /** The source's name. */
  readonly source: string;
  /** The user name of the credentials held (not a secret). */
  readonly username?: string;
  readonly expiresAt?: number;
  /** When the next scheduled refresh or retry attempt runs. */
  readonly nextRefreshAt?: number;
  /** When credentials last changed. */
  readonly lastRefreshAt?: number;
  /** The error of the last failed attempt, until the next success. */
  readonly lastError?: Error;
  readonly counters: {
    /** Fetch attempts started. */
    readonly fetches: number;
    /** Fetch attempts that failed. */
    readonly failures: number;
    /** Fetches that yielded new credentials (the first included). */
    readonly refreshes: number;
    /** Current subscribers. */
    readonly subscribers: number;
  };
}

/** Payload of the `refreshed` event: what changed, never the password. */
export interface RefreshedEvent {
  readonly source: string;
  readonly reason: FetchReason;
  readonly username: string;
  readonly expiresAt: number;
  /** When the scheduled refresh of these credentials runs (absent for ones that never expire). */
  readonly nextRefreshAt?: number;
  /** The jitter window (epoch ms) `nextRefreshAt` was drawn from, before any `refreshAt` hint. */
  readonly refreshWindow?: { readonly earliest: number; readonly latest: number };
}

/** Payload of the `expired` event. */
export interface ExpiredEvent {
  readonly source: string;
  readonly expiredAt: number;
  readonly lastError?: Error;
}

/** Payload of the `recovered` event. */
export interface RecoveredEvent {
  readonly source: string;
  /** How long connections had no valid credentials. */
  readonly downtimeMs: number;
}

export interface TokenManagerEvents {
  /** Every fetch that yields new credentials, the first included. */
  refreshed: (event: RefreshedEvent) => void;
  /** Every failed attempt; the payload is a `CredentialsFetchError` with the source's error as `cause`. */
  refreshFailed: (error: Error) => void;
  /** Once when held credentials lapse with no replacement. */
  expired: (event: ExpiredEvent) => void;
  /** The first success after `expired`. */
  recovered: (event: RecoveredEvent) => void;
  /** A subscriber (or an event handler) threw or rejected. */
  subscriberError: (error: unknown) => void;
}

export type TokenManagerEvent = keyof TokenManagerEvents;

/**
 * Hears of new credentials. Its return value is ignored, except that a rejected promise is
 * reported on `subscriberError`, so `(c) => redis.auth(c.username, c.password)` fits.
 */
export type CredentialsListener = (credentials: RedisCredentials) => unknown;

export interface GetCredentialsOptions {
  /** Stops waiting (the promise rejects with the signal's reason); the fetch goes on for others. */
  signal?: AbortSignal;
  /**
   * The credentials are for a connection handshake: held ones that expire within the manager's
   * `minHandshakeLifetimeMs` are refreshed first (see that option). Connection sessions set it.
   * @default false
   */
  forHandshake?: boolean;
}

export interface TokenManager extends AsyncDisposable {
  /**
   * A process-unique id: the `manager` field of every diagnostics message it (and the
   * connections bound to it) publishes, so that a listener can tell managers apart.
   */
  readonly id: number;
  /** The source's name. */
  readonly name: string;
  /** The manager's time source: connection sessions and adapters time everything on it. */
  readonly clock: Clock;
  /** Cached credentials; concurrent callers before the first fetch share one fetch. */
  getCredentials(options?: GetCredentialsOptions): Promise<RedisCredentials>;
  /** Synchronous; `undefined` before the first fetch and once the credentials expired. */
  peekCredentials(): RedisCredentials | undefined;
  /** Forced refresh (the server said WRONGPASS, say); overlapping calls share one fetch. */
  refresh(): Promise<RedisCredentials>;
  /** Hear of credentials that replace ones already handed out. Returns the unsubscribe function. */
  subscribe(listener: CredentialsListener): () => void;
  on<E extends TokenManagerEvent>(event: E, handler: TokenManagerEvents[E]): this;
  /** Removes a handler; does nothing for one never added, or after `dispose()`. */
  off(event: string, handler: (...args: any[]) => void): this;
  status(): TokenManagerStatus;
  /** Cancels every timer and any in-flight fetch. Idempotent. */
  dispose(): Promise<void>;
}
