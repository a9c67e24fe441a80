import type { ResolvedOptions } from "./options";

type ScheduleOptions = Pick<
  ResolvedOptions,
  "refreshRatio" | "refreshBeforeExpiryMs" | "minRefreshIntervalMs" | "refreshJitterMs" | "retry"
>;

/** Where, after receipt, the scheduled refresh of credentials with `lifetimeMs` left may land. */
export interface RefreshWindow {
  /** Never sooner than this. */
  readonly floorMs: number;
  /** The refresh lands in [earliestMs, latestMs]. */
  readonly earliestMs: number;
  readonly latestMs: number;
}

/**
 * The refresh window for a token that had `lifetimeMs` left when it arrived:
 * - floor = min(minRefreshIntervalMs, ratio × L)
 * - target = max(floor, min(ratio × L, max(L − refreshBeforeExpiryMs, L / 2)))
 * - window = [max(floor, target − min(refreshJitterMs, L / 10)), target]
 * and nothing sooner than `retry.initialDelayMs`, so that a source handing out tokens with almost
 * no life left cannot drive a tight loop.
 */
export function refreshWindow(lifetimeMs: number, options: ScheduleOptions): RefreshWindow {
  const L = lifetimeMs;
  const proportional = options.refreshRatio * L;
  const floor = Math.min(options.minRefreshIntervalMs, proportional);
  const target = Math.max(
    floor,
    Math.min(proportional, Math.max(L - options.refreshBeforeExpiryMs, L / 2)),
  );
  const earliest = Math.max(floor, target - Math.min(options.refreshJitterMs, L / 10));
  const minGap = options.retry.initialDelayMs;
  return {
    floorMs: Math.max(floor, minGap),
    earliestMs: Math.max(earliest, minGap),
    latestMs: Math.max(target, minGap),
  };
}

/**
 * The delay until the scheduled refresh: a uniformly random point of the window, or the source's
 * `refreshAt` hint where that is earlier (but never below the floor).
 */
export function refreshDelay(
  lifetimeMs: number,
  hintDelayMs: number | undefined,
  options: ScheduleOptions,
  random: () => number = Math.random,
): number {
  const window = refreshWindow(lifetimeMs, options);
  const span = window.latestMs - window.earliestMs;
  // Never-expiring credentials have an infinite window: only a hint can schedule them.
  const jittered = Number.isFinite(span) ? window.earliestMs + random() * span : window.latestMs;
  if (hintDelayMs === undefined) return jittered;
  return Math.min(jittered, Math.max(window.floorMs, hintDelayMs));
}

/**
 * Exponential backoff with full jitter above a floor: attempt n (from 0) waits a uniformly random
 * time in [initialDelayMs, min(maxDelayMs, initialDelayMs × multiplier^(n+1))]. The floor keeps
 * retries from bunching at zero; the ceiling keeps them coming for as long as it takes.
 */
export function backoffDelay(
  attempt: number,
  retry: Pick<ScheduleOptions["retry"], "initialDelayMs" | "maxDelayMs" | "multiplier">,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    retry.maxDelayMs,
    retry.initialDelayMs * retry.multiplier ** (attempt + 1),
  );
  return retry.initialDelayMs + random() * (ceiling - retry.initialDelayMs);
}
