import type { Clock } from "../types";

/** Node's setTimeout holds at most this; a longer delay overflows and fires after 1 ms. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Where a fake clock starts unless told otherwise: a fixed instant, so runs are repeatable. */
export const DEFAULT_FAKE_CLOCK_START = Date.UTC(2026, 0, 1);

export interface FakeClockOptions {
  /**
   * The clock's time at creation, in epoch milliseconds. Pass `Date.now()` when the code under
   * test compares this clock with real tokens (whose `exp` is real time).
   * @default Date.UTC(2026, 0, 1)
   */
  now?: number;
}

interface Scheduled {
  id: number;
  /**
   * When it fires, as `now()` will read then. A wall-clock step shifts every pending timer by
   * the same amount, so that timers fire after the real time they asked for, as Node's do.
   * (Kept on the wall clock's scale rather than the monotonic one so that `advanceTo(t)` for a
   * `t` the code computed from `now()` lands exactly on its timer, fractions included.)
   */
  at: number;
  callback: () => void;
}

/** `runAll()` ran more timers than its limit: something re-arms a timer every time it fires. */
export class FakeClockLoopError extends Error {
  override name = "FakeClockLoopError";
}

/**
 * A deterministic {@link Clock} for unit tests: time moves only when the test says so, and timers
 * run in time order (ties in creation order). Moving time also flushes promise jobs between
 * timers, so async work a timer starts (a fetch resolving, a waiter settling) happens before the
 * next timer runs, as it would in real time.
 *
 * It keeps two times, as a real machine does: the wall clock (`now()`, epoch ms) and a monotonic
 * one (`monotonicNow()`, from 0). Moving time moves both; timers run on the monotonic one, as
 * Node's do; {@link FakeClock.jumpWallClock} steps the wall clock alone, as NTP may.
 *
 * Delays follow Node's rules where a test could notice: one above 2^31−1 ms overflows and fires
 * after 1 ms; a negative or non-numeric one runs at the current instant (Node waits 1 ms).
 */
export class FakeClock implements Clock {
  #now: number;
  /** `now()` minus `monotonicNow()`: the start, plus every wall-clock step since. */
  #wallOffset: number;
  #nextId = 1;
  readonly #timers = new Map<number, Scheduled>();
  /** Every delay passed to setTimeout, as asked for, for assertions on what the code requested. */
  readonly delays: number[] = [];

  constructor(now: number = DEFAULT_FAKE_CLOCK_START) {
    if (typeof now !== "number" || !Number.isFinite(now)) {
      throw new RangeError(`FakeClock: \`now\` must be a finite number of epoch ms, got ${now}.`);
    }
    this.#now = now;
    this.#wallOffset = now;
  }

  now(): number {
    return this.#now;
  }

  /** Milliseconds since the clock was created, moved by `advance` and never by `jumpWallClock`. */
  monotonicNow(): number {
    return this.#now - this.#wallOffset;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.delays.push(ms);
    const delay = ms > MAX_TIMER_DELAY_MS ? 1 : Math.max(ms, 0) || 0; // NaN counts as 0
    this.#timers.set(id, { id, at: this.#now + delay, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * When the earliest pending timer fires, in epoch ms as `now()` will read then (unless the wall
   * clock jumps meanwhile), or undefined when none is pending.
   */
  nextAt(): number | undefined {
    const next = this.#earliestDue(Number.POSITIVE_INFINITY);
    return next?.at;
  }

  /**
   * Moves time forward by `ms`, running every timer due on the way in order, with the clock set
   * to each timer's own time while it runs and promise jobs flushed after each.
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== "number" || !(ms >= 0) || ms === Number.POSITIVE_INFINITY) {
      throw new RangeError(
        `FakeClock.advance: \`ms\` must be a finite number, 0 or more, got ${ms}.`,
      );
    }
    const end = this.#now + ms;
    await flushPromises();
    while (await this.#runOne(end)) {
      // each pass runs the earliest timer due by `end`
    }
    this.#moveTo(end);
    await flushPromises();
  }

  /**
   * Moves time to an absolute instant of the wall clock (epoch ms): advances by
   * `epochMs - now()`; an instant already past runs what is due.
   */
  advanceTo(epochMs: number): Promise<void> {
    return this.advance(Math.max(0, epochMs - this.#now));
  }

  /** Runs the timers due now (a zero delay included) without moving time. */
  runDueTimers(): Promise<void> {
    return this.advance(0);
  }

  /**
   * Steps the wall clock alone by `ms` (back when negative), as an NTP correction does: the
   * monotonic clock does not move, pending timers still fire after the real time they asked
   * for, and nothing fires now.
   */
  jumpWallClock(ms: number): void {
    if (typeof ms !== "number" || !Number.isFinite(ms)) {
      throw new RangeError(`FakeClock.jumpWallClock: \`ms\` must be a finite number, got ${ms}.`);
    }
    this.#now += ms;
    this.#wallOffset += ms;
    for (const timer of this.#timers.values()) timer.at += ms;
  }

  /**
   * Moves time from timer to timer until none is pending. Code that re-arms a timer each time one
   * fires (a token manager always has its next refresh scheduled) never runs out: after `limit`
   * timers this throws {@link FakeClockLoopError}; use `advance` or `advanceTo` for such code.
   */
  async runAll(options: { limit?: number } = {}): Promise<void> {
    const limit = options.limit ?? 10_000;
    for (let ran = 0; ; ran++) {
      const next = this.#earliestDue(Number.POSITIVE_INFINITY);
      if (next === undefined) return;
      if (ran >= limit) {
        throw new FakeClockLoopError(
          `runAll() ran ${limit} timers and ${this.pending} are still pending: the code under test re-arms a timer each time one fires. Use advance() or advanceTo() instead.`,
        );
      }
      await this.#runOne(next.at);
    }
  }

  /** Lets every queued promise job run (see {@link flushPromises}). */
  flushPromises(): Promise<void> {
    return flushPromises();
  }

  /** Moves both clocks forward together to `at` on the wall clock's scale (never back). */
  #moveTo(at: number): void {
    this.#now = Math.max(this.#now, at);
  }

  /** Runs the earliest timer due by `at` (moving time to it), then pending jobs; false if none. */
  async #runOne(at: number): Promise<boolean> {
    const timer = this.#earliestDue(at);
    if (timer === undefined) return false;
    this.#timers.delete(timer.id);
    this.#moveTo(timer.at);
    timer.callback();
    await flushPromises();
    return true;
  }

  /** The earliest timer due by `end` (ties: the first created). */
  #earliestDue(end: number): Scheduled | undefined {
    let earliest: Scheduled | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.at > end) continue;
      if (
        earliest === undefined ||
        timer.at < earliest.at ||
        (timer.at === earliest.at && timer.id < earliest.id)
      ) {
        earliest = timer;
      }
    }
    return earliest;
  }
}

/** A fake clock starting at `options.now`; see {@link FakeClock}. */
export function createFakeClock(options: FakeClockOptions = {}): FakeClock {
  return new FakeClock(options.now);
}

/**
 * Lets every queued promise job (and the jobs those queue, a few levels deep) run, then waits one
 * turn of the real event loop so I/O callbacks already due run too. It uses real `setImmediate`,
 * so it works alongside jest's modern fake timers only when `setImmediate` is not faked.
 */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
