import type { FetchReason } from "./types";

/** What every diagnostics message carries; never a password or token. */
export interface DiagnosticsMessage {
  /** A process-unique id of the manager that published it. */
  readonly manager: number;
  /** The source's name. */
  readonly source: string;
}

/** An error as diagnostics carry it: described, never the object itself. */
export interface DescribedError {
  readonly name: string;
  readonly message: string;
}

/** `redis-credentials:fetch`: an attempt starts. */
export interface FetchMessage extends DiagnosticsMessage {
  readonly reason: FetchReason;
  /** The backoff counter n of this attempt. */
  readonly attempt: number;
}

/** What the messages of a fetch attempt's outcome carry besides their own fields. */
export interface FetchOutcome {
  readonly reason: FetchReason;
  /** How long the attempt took, from its start to its answer (or its timeout), in ms. */
  readonly durationMs: number;
}

/** `redis-credentials:refreshed`: new credentials arrived. */
export interface RefreshedMessage extends DiagnosticsMessage, FetchOutcome {
  readonly username: string;
  readonly expiresAt: number;
  readonly nextRefreshAt?: number;
  readonly refreshWindow?: { readonly earliest: number; readonly latest: number };
}

/** `redis-credentials:refresh-failed`: an attempt failed. */
export interface RefreshFailedMessage extends DiagnosticsMessage, FetchOutcome {
  readonly error: DescribedError;
  /** Whether the error stopped the retries. */
  readonly permanent: boolean;
  /** `undefined` when nothing is scheduled. */
  readonly nextRefreshAt: number | undefined;
}

/** `redis-credentials:unchanged`: a fetch returned the credentials already held. */
export interface UnchangedMessage extends DiagnosticsMessage, FetchOutcome {
  readonly expiresAt: number | undefined;
  readonly nextRefreshAt: number | undefined;
}

/** `redis-credentials:expired`: held credentials lapsed with no replacement. */
export interface ExpiredMessage extends DiagnosticsMessage {
  readonly expiredAt: number;
}

/** `redis-credentials:recovered`: the first success after an expiry. */
export interface RecoveredMessage extends DiagnosticsMessage {
  readonly downtimeMs: number;
}

/** `redis-credentials:fan-out`: new credentials are being handed to subscribers. */
export interface FanOutMessage extends DiagnosticsMessage {
  readonly subscribers: number;
  /** The subscribers hear of them at staggered times within this many milliseconds. */
  readonly spreadMs: number;
}

/** `redis-credentials:subscriber-error`: a subscriber or an event handler threw. */
export interface SubscriberErrorMessage extends DiagnosticsMessage {
  readonly error: DescribedError;
}

/**
 * `redis-credentials:reauth`: a connection's re-AUTH with new credentials was answered, published
 * by the core's connection session for every adapter. A handshake (connect, reconnect) is not a
 * re-AUTH; an AUTH whose connection closed before its answer is neither outcome.
 */
export interface ReauthMessage extends DiagnosticsMessage {
  /** A process-unique id of the bound client (one per binding: a client with its nodes and copies). */
  readonly client: number;
  /** The server of the connection: `host:port`, or the adapter's description. */
  readonly target: string;
  /** `success`: Redis accepted the AUTH; `failure`: it refused it, or IAM could not check it. */
  readonly outcome: "success" | "failure";
  /** Why it failed (the server's reply, described); only on `failure`. */
  readonly error?: DescribedError;
}

/** Each channel's name with the type of its messages. */
export interface DiagnosticsMessages {
  "redis-credentials:fetch": FetchMessage;
  "redis-credentials:refreshed": RefreshedMessage;
  "redis-credentials:refresh-failed": RefreshFailedMessage;
  "redis-credentials:unchanged": UnchangedMessage;
  "redis-credentials:expired": ExpiredMessage;
  "redis-credentials:recovered": RecoveredMessage;
  "redis-credentials:fan-out": FanOutMessage;
  "redis-credentials:subscriber-error": SubscriberErrorMessage;
  "redis-credentials:reauth": ReauthMessage;
}
