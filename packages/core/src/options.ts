import { nearestOption } from "./assert-known-options";
import { realClock } from "./clock";
import { InvalidOptionsError } from "./errors";
import type { Clock, TokenManagerOptions } from "./types";

export interface ResolvedOptions {
  refreshRatio: number;
  refreshBeforeExpiryMs: number;
  minRefreshIntervalMs: number;
  refreshJitterMs: number;
  fetchTimeoutMs: number;
  retry: {
    initialDelayMs: number;
    maxDelayMs: number;
    multiplier: number;
    isRetryable: ((error: unknown) => boolean) | undefined;
  };
  reauthSpreadMs: number;
  minHandshakeLifetimeMs: number;
  clock: Clock;
}

export const defaultOptions = {
  refreshRatio: 0.75,
  refreshBeforeExpiryMs: 300_000,
  minRefreshIntervalMs: 5_000,
  refreshJitterMs: 30_000,
  fetchTimeoutMs: 10_000,
  reauthSpreadMs: 5_000,
  minHandshakeLifetimeMs: 2_000,
  retry: { initialDelayMs: 250, maxDelayMs: 30_000, multiplier: 2 },
} as const;

const topLevelKeys = new Set([
  "refreshRatio",
  "refreshBeforeExpiryMs",
  "minRefreshIntervalMs",
  "refreshJitterMs",
  "fetchTimeoutMs",
  "retry",
  "reauthSpreadMs",
  "minHandshakeLifetimeMs",
  "clock",
]);
const retryKeys = new Set(["initialDelayMs", "maxDelayMs", "multiplier", "isRetryable"]);

/** Validates every option up front, naming the wrong one, and fills in the defaults. */
export function resolveOptions(options: TokenManagerOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  assertPlainObject("options", options);
  rejectUnknownKeys("", options, topLevelKeys);
  const retry = options.retry === undefined ? {} : options.retry;
  assertPlainObject("retry", retry);
  rejectUnknownKeys("retry.", retry, retryKeys);

  const resolved: ResolvedOptions = {
    refreshRatio: ratio("refreshRatio", options.refreshRatio, defaultOptions.refreshRatio),
    refreshBeforeExpiryMs: duration(
      "refreshBeforeExpiryMs",
      options.refreshBeforeExpiryMs,
      defaultOptions.refreshBeforeExpiryMs,
      "zero",
    ),
    minRefreshIntervalMs: duration(
      "minRefreshIntervalMs",
      options.minRefreshIntervalMs,
      defaultOptions.minRefreshIntervalMs,
      "positive",
    ),
    refreshJitterMs: duration(
      "refreshJitterMs",
      options.refreshJitterMs,
      defaultOptions.refreshJitterMs,
      "zero",
    ),
    fetchTimeoutMs: duration(
      "fetchTimeoutMs",
      options.fetchTimeoutMs,
      defaultOptions.fetchTimeoutMs,
      "positive",
    ),
    reauthSpreadMs: duration(
      "reauthSpreadMs",
      options.reauthSpreadMs,
      defaultOptions.reauthSpreadMs,
      "zero",
    ),
    minHandshakeLifetimeMs: duration(
      "minHandshakeLifetimeMs",
      options.minHandshakeLifetimeMs,
      defaultOptions.minHandshakeLifetimeMs,
      "zero",
    ),
    retry: {
      initialDelayMs: duration(
        "retry.initialDelayMs",
        retry.initialDelayMs,
        defaultOptions.retry.initialDelayMs,
        "positive",
      ),
      // A larger initial delay alone lifts the default ceiling with it rather than failing.
      maxDelayMs: duration(
        "retry.maxDelayMs",
        retry.maxDelayMs,
        Math.max(
          defaultOptions.retry.maxDelayMs,
          (retry.initialDelayMs as number | undefined) ?? 0,
        ),
        "positive",
      ),
      multiplier: multiplier(retry.multiplier),
      isRetryable: optionalFunction<(error: unknown) => boolean>(
        "retry.isRetryable",
        retry.isRetryable,
      ),
    },
    clock: options.clock === undefined ? realClock : clock(options.clock),
  };
  if (resolved.retry.maxDelayMs < resolved.retry.initialDelayMs) {
    throw new InvalidOptionsError(
      "retry.maxDelayMs",
      `must be at least retry.initialDelayMs (${resolved.retry.initialDelayMs}), got ${resolved.retry.maxDelayMs}.`,
    );
  }
  return resolved;
}

function assertPlainObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(
      name,
      `must be an object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}.`,
    );
  }
}

function rejectUnknownKeys(prefix: string, value: object, known: Set<string>) {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      const typoOf = nearestOption(key, known);
      throw new InvalidOptionsError(
        `${prefix}${key}`,
        `unknown option${typoOf === undefined ? "." : `: did you mean \`${prefix}${typoOf}\`?`} Known options: ${[...known].map((k) => prefix + k).join(", ")}.`,
      );
    }
  }
}

function duration(
  name: string,
  value: unknown,
  fallback: number,
  lowest: "zero" | "positive",
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidOptionsError(
      name,
      `must be a finite number of milliseconds, got ${show(value)}.`,
    );
  }
  if (lowest === "positive" ? value <= 0 : value < 0) {
    throw new InvalidOptionsError(
      name,
      `must be ${lowest === "positive" ? "greater than 0" : "0 or more"}, got ${value}.`,
    );
  }
  return value;
}

function ratio(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0 && value < 1)) {
    throw new InvalidOptionsError(
      name,
      `must be a number between 0 and 1 (exclusive), got ${show(value)}.`,
    );
  }
  return value;
}

function multiplier(value: unknown): number {
  if (value === undefined) return defaultOptions.retry.multiplier;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1) {
    throw new InvalidOptionsError(
      "retry.multiplier",
      `must be a finite number of at least 1, got ${show(value)}.`,
    );
  }
  return value;
}

function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new InvalidOptionsError(name, `must be a function, got ${show(value)}.`);
  }
  return value as F | undefined;
}

function clock(value: unknown): Clock {
  const candidate = value as Partial<Clock> | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.now !== "function" ||
    typeof candidate.setTimeout !== "function" ||
    typeof candidate.clearTimeout !== "function" ||
    (candidate.monotonicNow !== undefined && typeof candidate.monotonicNow !== "function") ||
    (candidate.keepProcessAlive !== undefined && typeof candidate.keepProcessAlive !== "function")
  ) {
    throw new InvalidOptionsError(
      "clock",
      "must be an object with now(), setTimeout() and clearTimeout(), and optionally monotonicNow() and keepProcessAlive().",
    );
  }
  return candidate as Clock;
}

function show(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (value === null) return "null";
  return typeof value;
}
