import type { CredentialSource, FetchContext, RedisCredentials } from "../src";
import type { FakeClock } from "./fake-clock";

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** A promise with its resolve and reject functions exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface CountingSource extends CredentialSource {
  readonly fetch: jest.Mock<Promise<RedisCredentials>, [FetchContext]>;
  /** The password the n-th fetch (from 1) returns. */
  password(n: number): string;
}

/**
 * A source that answers at once with fresh credentials each time: password `${prefix}-${n}` for
 * the n-th fetch, valid for `lifetimeMs` from the fake clock's now.
 */
export function countingSource(
  clock: FakeClock,
  options: { name?: string; prefix?: string; lifetimeMs?: number; username?: string } = {},
): CountingSource {
  const { name = "counting", prefix = "token", lifetimeMs = HOUR, username = "user" } = options;
  let n = 0;
  return {
    name,
    password: (i) => `${prefix}-${i}`,
    fetch: jest.fn(
      async (_context: FetchContext): Promise<RedisCredentials> => ({
        username,
        password: `${prefix}-${++n}`,
        expiresAt: clock.now() + lifetimeMs,
      }),
    ),
  };
}

export interface ManualSource extends CredentialSource {
  readonly fetch: jest.Mock<Promise<RedisCredentials>, [FetchContext]>;
  /** Every fetch call so far, in order, each with its context and its pending answer. */
  readonly calls: { context: FetchContext; answer: Deferred<RedisCredentials> }[];
  /** The answer of the latest fetch. */
  last(): Deferred<RedisCredentials>;
}

/** A source whose every fetch waits until the test settles it. */
export function manualSource(name = "manual"): ManualSource {
  const calls: ManualSource["calls"] = [];
  return {
    name,
    calls,
    last() {
      const call = calls[calls.length - 1];
      if (call === undefined) throw new Error("no fetch yet");
      return call.answer;
    },
    fetch: jest.fn((context: FetchContext) => {
      const answer = deferred<RedisCredentials>();
      calls.push({ context, answer });
      return answer.promise;
    }),
  };
}

/** Settles `promise` into a value to inspect without an unhandled rejection. */
export async function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** What `action` throws (undefined if it returns). */
export function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}
