import { assertKnownOptions } from "./assert-known-options";
import { realClock } from "./clock";
import { sameCredentials } from "./credentials";
import { describeError, isError } from "./describe-error";
import { CredentialsRejectedError, InvalidOptionsError } from "./errors";
import { backoffDelay } from "./schedule";
import type { Clock, RedisCredentials, TokenManager } from "./types";

export interface RejectionTrackerOptions {
  /**
   * The first wait after the forced refresh did not help; waits then grow to `maxDelayMs`.
   * @default 1_000
   */
  initialDelayMs?: number;
  /** @default 30_000 */
  maxDelayMs?: number;
  /** @default real timers, unref'd */
  clock?: Clock;
}

/** What a connection does after Redis rejected its credentials. */
export interface RejectionOutcome {
  /** Present these next. */
  readonly credentials: RedisCredentials;
  /** Set once per run of rejections, when a forced refresh did not help: report it to the user. */
  readonly error?: CredentialsRejectedError;
}

/**
 * One connection's answer to WRONGPASS/NOAUTH, shared by every adapter: the first rejection forces
 * one refresh (overlapping calls from many connections share one fetch); if Redis rejects the
 * fresh credentials too, the error is reported once and retries back off until new credentials
 * arrive, so that a misconfigured identity neither loops nor floods the identity provider.
 * A rejection while the manager holds no valid credentials (they expired while the identity
 * provider failed) is no refusal of the identity: it waits for new credentials, with no error.
 */
export interface RejectionTracker {
  /** Redis rejected `credentials` with `cause`. Resolves when the connection should try again. */
  rejected(
    credentials: RedisCredentials,
    cause: unknown,
    signal?: AbortSignal,
  ): Promise<RejectionOutcome>;
  /** Redis accepted credentials: the run of rejections is over. */
  accepted(): void;
  /**
   * Rejections since the last acceptance, not counting those while the manager held no valid
   * credentials (they lapsed during an identity-provider outage: no fault of the identity).
   */
  readonly consecutive: number;
}

const rejectionReply = /^(WRONGPASS|NOAUTH)\b/;

/** Whether a Redis error reply says the credentials were refused. */
export function isCredentialsRejection(error: unknown): boolean {
  return isError(error) && rejectionReply.test(describeError(error).message);
}

export function createRejectionTracker(
  manager: TokenManager,
  options: RejectionTrackerOptions = {},
): RejectionTracker {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "must be an object when given.");
  }
  assertKnownOptions(options, ["initialDelayMs", "maxDelayMs", "clock"]);
  const retry = {
    initialDelayMs: options.initialDelayMs ?? 1_000,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    multiplier: 2,
  };
  const clock = options.clock ?? realClock;
  let consecutive = 0;
  let reported = false;

  async function rejected(
    credentials: RedisCredentials,
    cause: unknown,
    signal?: AbortSignal,
  ): Promise<RejectionOutcome> {
    const current = manager.peekCredentials();
    if (current === undefined) {
      // The credentials lapsed (the source is failing, and the manager reports that as
      // `expired`): the refusal says nothing of the identity, so no forced refresh, no
      // CredentialsRejectedError, and it does not count. Wait for new credentials.
      return { credentials: await manager.getCredentials(signal ? { signal } : {}) };
    }
    consecutive += 1;
    // Newer credentials than the rejected ones are already here: try those first.
    if (current !== undefined && !sameCredentials(current, credentials)) {
      return { credentials: current };
    }
    if (consecutive === 1) return { credentials: await manager.refresh() };
    let error: CredentialsRejectedError | undefined;
    if (!reported) {
      reported = true;
      error = new CredentialsRejectedError(manager.name, credentials.username, { cause });
    }
    await waitForNewCredentials(credentials, backoffDelay(consecutive - 2, retry), signal);
    const next =
      manager.peekCredentials() ?? (await manager.getCredentials(signal ? { signal } : {}));
    return error === undefined ? { credentials: next } : { credentials: next, error };
  }

  function waitForNewCredentials(old: RedisCredentials, ms: number, signal?: AbortSignal) {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clock.clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener("abort", aborted);
      };
      const timer = clock.setTimeout(() => {
        done();
        resolve();
      }, ms);
      const unsubscribe = manager.subscribe((next) => {
        if (sameCredentials(next, old)) return;
        done();
        resolve();
      });
      const aborted = () => {
        done();
        reject(signal?.reason);
      };
      if (signal?.aborted) aborted();
      else signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  return {
    rejected,
    accepted() {
      consecutive = 0;
      reported = false;
    },
    get consecutive() {
      return consecutive;
    },
  };
}
