import type { Clock } from "../src";

interface Scheduled {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * A deterministic clock for tests: time moves only when the test says so, and timers run in
 * time order (ties in creation order). `advance` also flushes promise jobs between timers so that
 * async work triggered by a timer (a fetch resolving, a waiter settling) happens before the next.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Scheduled>();
  /** Every delay passed to setTimeout, for assertions on what the manager asked for. */
  readonly delays: number[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.delays.push(ms);
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** When the earliest pending timer fires, or undefined. */
  nextAt(): number | undefined {
    let earliest: number | undefined;
    for (const timer of this.#timers.values()) {
      if (earliest === undefined || timer.at < earliest) earliest = timer.at;
    }
    return earliest;
  }

  /** Moves time forward by `ms`, running every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await flushPromises();
    for (;;) {
      const next = this.#earliestDue(end);
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await flushPromises();
    }
    this.#now = end;
    await flushPromises();
  }

  /** Moves time to an absolute instant. */
  advanceTo(at: number): Promise<void> {
    return this.advance(Math.max(0, at - this.#now));
  }

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

/** Lets every queued promise job (and the jobs they queue) run. */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
