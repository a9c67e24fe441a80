import type { Clock } from "./types";

/** The longest delay `setTimeout` holds; a longer one fires at once with a warning. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Real timers, unref'd so that a manager never keeps a process alive on its own. */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  keepProcessAlive: () => {
    const hold = setInterval(() => {}, MAX_TIMER_DELAY_MS);
    return () => clearInterval(hold);
  },
};

export interface Timer {
  cancel(): void;
}

/**
 * Runs `callback` after `ms` on `clock`, chaining timers for delays beyond what `setTimeout` can
 * hold (tokens that live longer than 24.8 days), so that no clock ever sees an overflowing delay.
 */
export function startTimer(clock: Clock, ms: number, callback: () => void): Timer {
  let handle: unknown;
  let cancelled = false;
  const arm = (remaining: number) => {
    const step = Math.min(Math.max(remaining, 0), MAX_TIMER_DELAY_MS);
    handle = clock.setTimeout(() => {
      if (cancelled) return;
      if (remaining > MAX_TIMER_DELAY_MS) arm(remaining - MAX_TIMER_DELAY_MS);
      else callback();
    }, step);
  };
  arm(ms);
  return {
    cancel() {
      cancelled = true;
      clock.clearTimeout(handle);
    },
  };
}
