import type { CredentialSource, FetchReason, RedisCredentials } from "@redis-credentials/core";

/** One call of the manager to its source, as the source saw it. */
export interface FetchAttempt {
  readonly reason: FetchReason;
  /** Date.now() when the manager called fetch. */
  readonly startedAt: number;
  /** When it settled (undefined while pending). */
  settledAt: number | undefined;
  outcome: "pending" | "ok" | "failed";
  /** The error's name, for a failed attempt (never its message: no secret can leak through it). */
  errorName: string | undefined;
}

/** A source that records every call the manager makes to it. */
export interface CountingSource extends CredentialSource {
  readonly attempts: readonly FetchAttempt[];
  /** Attempts started at or after `since` (epoch ms), all of them without it. */
  attemptsSince(since?: number): FetchAttempt[];
}

/** Wraps `inner`, recording each call: its reason, when it started and settled, and how. */
export function countingSource(inner: CredentialSource): CountingSource {
  const attempts: FetchAttempt[] = [];
  return {
    name: inner.name,
    attempts,
    attemptsSince: (since = 0) => attempts.filter((attempt) => attempt.startedAt >= since),
    async fetch(context): Promise<RedisCredentials> {
      const attempt: FetchAttempt = {
        reason: context.reason,
        startedAt: Date.now(),
        settledAt: undefined,
        outcome: "pending",
        errorName: undefined,
      };
      attempts.push(attempt);
      try {
        const credentials = await inner.fetch(context);
        attempt.outcome = "ok";
        return credentials;
      } catch (error) {
        attempt.outcome = "failed";
        attempt.errorName = error instanceof Error ? error.name : typeof error;
        throw error;
      } finally {
        attempt.settledAt = Date.now();
      }
    },
  };
}
