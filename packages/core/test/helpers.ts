import type {
  Clock,
  CredentialSource,
  FetchContext,
  FetchReason,
  RedisCredentials,
  TokenManager,
  TokenManagerEvents,
} from "../src";

/** One call the manager made to a {@link scriptedSource}. */
export interface FetchCall {
  /** 1 for the first call. */
  readonly n: number;
  /** Clock time when the manager called fetch. */
  readonly at: number;
  readonly reason: FetchReason;
  readonly signal: AbortSignal;
}

export interface ScriptedSource extends CredentialSource {
  /** Every call so far, in order. */
  readonly calls: FetchCall[];
}

/**
 * A credential source whose answers come from `respond`, called with each fetch call; it records
 * when (on `clock`) and why each fetch happened. `respond` may return credentials, a promise, or
 * throw (or return a rejected promise) to fail the attempt.
 */
export function scriptedSource(
  clock: Clock,
  respond: (call: FetchCall) => unknown,
  name = "test-source",
): ScriptedSource {
  const calls: FetchCall[] = [];
  return {
    name,
    calls,
    fetch(context: FetchContext) {
      const call: FetchCall = {
        n: calls.length + 1,
        at: clock.now(),
        reason: context.reason,
        signal: context.signal,
      };
      calls.push(call);
      return respond(call) as Promise<RedisCredentials>;
    },
  };
}

/** Credentials for `password` that expire `lifetimeMs` from now on `clock`. */
export function credentialsFor(
  clock: Clock,
  lifetimeMs: number,
  password: string,
  extra: { username?: string; refreshAt?: number } = {},
): RedisCredentials {
  return {
    username: extra.username ?? "app-user",
    password,
    expiresAt: clock.now() + lifetimeMs,
    ...(extra.refreshAt !== undefined ? { refreshAt: extra.refreshAt } : {}),
  };
}

/** Differences between consecutive numbers. */
export function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] as number));
}

export { type Deferred, deferred } from "./sources";

/** Every payload of every manager event, in arrival order per event. */
export type RecordedEvents = {
  [E in keyof TokenManagerEvents]: Parameters<TokenManagerEvents[E]>[0][];
};

export function recordEvents(manager: TokenManager): RecordedEvents {
  const events: RecordedEvents = {
    refreshed: [],
    refreshFailed: [],
    expired: [],
    recovered: [],
    subscriberError: [],
  };
  manager.on("refreshed", (e) => events.refreshed.push(e));
  manager.on("refreshFailed", (e) => events.refreshFailed.push(e));
  manager.on("expired", (e) => events.expired.push(e));
  manager.on("recovered", (e) => events.recovered.push(e));
  manager.on("subscriberError", (e) => events.subscriberError.push(e));
  return events;
}
