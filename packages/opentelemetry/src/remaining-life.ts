import type { Clock, TokenManager } from "@redis-credentials/core";

/** Where the count-down of the credentials held started. */
interface Baseline {
  readonly expiresAt: number;
  /** Their life left when they arrived, from the wall clock. */
  readonly remainingMs: number;
  /** When they arrived, on the monotonic reading. */
  readonly at: number;
}

/**
 * The remaining life of the credentials a manager holds, counted as the manager counts it: read
 * from the wall clock once, when they arrive, then counted down on the clock's monotonic reading,
 * so that a wall-clock step (NTP, a resumed VM) does not move the gauge while the manager,
 * rightly, keeps using the token.
 */
export class RemainingLife {
  readonly manager: TokenManager;
  #baseline: Baseline | undefined;

  constructor(manager: TokenManager) {
    this.manager = manager;
  }

  /** New credentials arrived: their count-down starts now. */
  arrived(expiresAt: number): void {
    const { clock } = this.manager;
    this.#baseline = { expiresAt, remainingMs: expiresAt - clock.now(), at: monotonicNow(clock) };
  }

  /** The credentials held expire at `expiresAt`: a later expiry (the same token, extended) starts over. */
  heldUntil(expiresAt: number): void {
    if (this.#baseline?.expiresAt !== expiresAt) this.arrived(expiresAt);
  }

  /**
   * In seconds: 0 once the credentials lapsed (until a replacement arrives); `undefined` when none
   * are held (before the first fetch, after `dispose()`) or they never expire.
   */
  seconds(): number | undefined {
    const { state, expiresAt } = this.manager.status();
    if (expiresAt === undefined || expiresAt === Number.POSITIVE_INFINITY) return undefined;
    if (state === "expired") return 0;
    if (state !== "ready") return undefined;
    // Credentials that arrived before the instrumentation: counted from the first look at them.
    this.heldUntil(expiresAt);
    const baseline = this.#baseline as Baseline;
    const elapsed = monotonicNow(this.manager.clock) - baseline.at;
    return Math.max(0, baseline.remainingMs - elapsed) / 1_000;
  }
}

function monotonicNow(clock: Clock): number {
  return clock.monotonicNow ? clock.monotonicNow() : clock.now();
}
