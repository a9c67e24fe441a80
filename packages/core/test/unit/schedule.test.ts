import fc from "fast-check";
import {
  createTokenManager,
  MAX_TIMER_DELAY_MS,
  markPermanent,
  type RedisCredentials,
  staticCredentials,
  type TokenManagerOptions,
} from "../../src";
import { backoffDelay, refreshDelay, refreshWindow } from "../../src/schedule";
import { FakeClock } from "../fake-clock";
import { credentialsFor, gaps, recordEvents, scriptedSource } from "../helpers";
import { HOUR, MINUTE, SECOND } from "../sources";

const DAY = 24 * HOUR;

type ScheduleOptions = Parameters<typeof refreshWindow>[1];

afterEach(() => {
  jest.restoreAllMocks();
});

/** Starts a manager whose first token has `lifetimeMs` left; returns when it is held. */
async function managerWithToken(
  lifetimeMs: number,
  options: TokenManagerOptions = {},
  extra: { refreshAt?: (receipt: number) => number } = {},
) {
  const clock = new FakeClock();
  let n = 0;
  const source = scriptedSource(clock, async () => {
    n++;
    const refreshAt = extra.refreshAt?.(clock.now());
    return credentialsFor(clock, lifetimeMs, `token-${n}`, {
      ...(refreshAt !== undefined ? { refreshAt } : {}),
    });
  });
  const manager = createTokenManager(source, { ...options, clock });
  await manager.getCredentials();
  const receipt = clock.now();
  const nextRefreshAt = manager.status().nextRefreshAt;
  if (nextRefreshAt === undefined) throw new Error("no refresh was scheduled");
  return { clock, source, manager, receipt, delay: nextRefreshAt - receipt, nextRefreshAt };
}

/** Checks that the second fetch happens at `nextRefreshAt`, not a moment sooner. */
async function expectFetchAt(
  clock: FakeClock,
  source: { calls: unknown[] },
  nextRefreshAt: number,
) {
  const before = source.calls.length;
  await clock.advanceTo(nextRefreshAt - 1);
  expect(source.calls).toHaveLength(before);
  await clock.advanceTo(nextRefreshAt);
  expect(source.calls).toHaveLength(before + 1);
}

describe("the refresh schedule with default options", () => {
  // [lifetime, earliest, latest] after receipt, from the formula.
  const cases: [string, number, number, number][] = [
    ["5 s", 5 * SECOND, 3_750, 3_750],
    ["5 min", 5 * MINUTE, 2 * MINUTE, 2.5 * MINUTE],
    ["15 min", 15 * MINUTE, 9.5 * MINUTE, 10 * MINUTE],
    ["60 min", 60 * MINUTE, 44.5 * MINUTE, 45 * MINUTE],
    ["24 h", 24 * HOUR, 18 * HOUR - 30 * SECOND, 18 * HOUR],
  ];

  test.each(cases)(
    "a %s token refreshes inside its window, and the fetch happens then",
    async (_label, lifetime, earliest, latest) => {
      for (let i = 0; i < 25; i++) {
        const { clock, source, manager, delay, nextRefreshAt } = await managerWithToken(lifetime);
        expect(delay).toBeGreaterThanOrEqual(earliest);
        expect(delay).toBeLessThanOrEqual(latest);
        await expectFetchAt(clock, source, nextRefreshAt);
        expect(source.calls[1]?.reason).toBe("scheduled");
        await manager.dispose();
      }
    },
  );

  test.each(cases)(
    "a %s token: the window's ends are reached (random 0 → earliest, random → 1 → latest)",
    async (_label, lifetime, earliest, latest) => {
      const random = jest.spyOn(Math, "random").mockReturnValue(0);
      const low = await managerWithToken(lifetime);
      expect(low.delay).toBe(earliest);
      await low.manager.dispose();

      random.mockReturnValue(1 - 2 ** -40);
      const high = await managerWithToken(lifetime);
      expect(high.delay).toBeCloseTo(latest, 0);
      expect(high.delay).toBeLessThanOrEqual(latest);
      await high.manager.dispose();
    },
  );

  test("the lifetime counts from when the fetch resolved: a cached token's used-up life is not counted", async () => {
    jest.spyOn(Math, "random").mockReturnValue(0.5);
    const clock = new FakeClock();
    const start = clock.now();
    // The token was minted at `start` with 60 min of life, but the source takes 8 s to answer.
    const source = scriptedSource(
      clock,
      () =>
        new Promise<RedisCredentials>((resolve) => {
          const token = { username: "u", password: "cached", expiresAt: start + HOUR };
          clock.setTimeout(() => resolve(token), 8 * SECOND);
        }),
    );
    const manager = createTokenManager(source, { clock });
    const pending = manager.getCredentials();
    await clock.advance(8 * SECOND);
    await pending;
    const receipt = clock.now();
    expect(receipt).toBe(start + 8 * SECOND);
    const L = HOUR - 8 * SECOND;
    // target = 0.75 L, window 30 s wide, random 0.5 → 15 s before target.
    expect(manager.status().nextRefreshAt! - receipt).toBeCloseTo(0.75 * L - 15 * SECOND, 6);
    await manager.dispose();
  });
});

describe("the source's refreshAt hint", () => {
  test("a hint earlier than the window wins", async () => {
    const { clock, source, manager, receipt, nextRefreshAt } = await managerWithToken(
      HOUR,
      {},
      { refreshAt: (now) => now + 30 * MINUTE },
    );
    expect(nextRefreshAt).toBe(receipt + 30 * MINUTE);
    await expectFetchAt(clock, source, nextRefreshAt);
    await manager.dispose();
  });

  test("a hint sooner than the floor (minRefreshIntervalMs) is pushed back to the floor", async () => {
    const soon = await managerWithToken(HOUR, {}, { refreshAt: (now) => now + SECOND });
    expect(soon.delay).toBe(5 * SECOND);
    await expectFetchAt(soon.clock, soon.source, soon.nextRefreshAt);
    await soon.manager.dispose();

    const past = await managerWithToken(HOUR, {}, { refreshAt: (now) => now - 10 * MINUTE });
    expect(past.delay).toBe(5 * SECOND);
    await past.manager.dispose();

    const custom = await managerWithToken(
      HOUR,
      { minRefreshIntervalMs: 20 * SECOND },
      { refreshAt: (now) => now + SECOND },
    );
    expect(custom.delay).toBe(20 * SECOND);
    await custom.manager.dispose();
  });

  test("a hint later than the window changes nothing", async () => {
    for (let i = 0; i < 10; i++) {
      const { manager, delay } = await managerWithToken(
        HOUR,
        {},
        { refreshAt: (now) => now + 50 * MINUTE },
      );
      expect(delay).toBeGreaterThanOrEqual(44.5 * MINUTE);
      expect(delay).toBeLessThanOrEqual(45 * MINUTE);
      await manager.dispose();
    }
  });
});

describe("credentials that never expire", () => {
  test("expiresAt = Infinity schedules no refresh and no timer", async () => {
    const clock = new FakeClock();
    const source = staticCredentials({ password: "access-key" });
    const fetch = jest.spyOn(source, "fetch");
    const manager = createTokenManager(source, { clock });

    const credentials = await manager.getCredentials();
    expect(credentials.expiresAt).toBe(Number.POSITIVE_INFINITY);
    expect(manager.status().nextRefreshAt).toBeUndefined();
    expect(clock.pending).toBe(0);

    await clock.advance(10 * 365 * DAY);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(manager.peekCredentials()).toBe(credentials);
    expect(manager.status().state).toBe("ready");
    await manager.dispose();
  });

  // The contract says refreshAt means "refresh no later than this"; with an infinite lifetime the
  // issue's rule (the hint wins when earlier than the window, never below the floor) gives the hint.
  test("a refreshAt hint on never-expiring credentials is still honoured (e.g. a rotated password)", async () => {
    const clock = new FakeClock();
    const source = scriptedSource(clock, (call) =>
      credentialsFor(clock, Number.POSITIVE_INFINITY, `password-${call.n}`, {
        refreshAt: clock.now() + HOUR,
      }),
    );
    const manager = createTokenManager(source, { clock });
    await manager.getCredentials();
    const receipt = clock.now();

    expect(manager.status().nextRefreshAt).toBe(receipt + HOUR);
    await clock.advance(2 * HOUR);
    expect(source.calls.length).toBeGreaterThanOrEqual(2);
    expect(source.calls[1]?.at).toBe(receipt + HOUR);
    await manager.dispose();
  });

  test("a source that switches from expiring to never-expiring credentials cancels the scheduled refresh", async () => {
    const clock = new FakeClock();
    const source = scriptedSource(clock, (call) =>
      call.n === 1
        ? credentialsFor(clock, HOUR, "short-lived")
        : credentialsFor(clock, Number.POSITIVE_INFINITY, "forever"),
    );
    const manager = createTokenManager(source, { clock });
    await manager.getCredentials();
    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(source.calls).toHaveLength(2);
    expect(manager.peekCredentials()?.password).toBe("forever");
    expect(manager.status().nextRefreshAt).toBeUndefined();

    await clock.advance(10 * 365 * DAY);
    expect(source.calls).toHaveLength(2);
    expect(manager.status().state).toBe("ready");
    await manager.dispose();
  });
});

/** Behaves like Node's setTimeout: a delay above 2^31−1 ms overflows and fires after 1 ms. */
class OverflowingClock extends FakeClock {
  readonly requested: number[] = [];

  override setTimeout(callback: () => void, ms: number): unknown {
    this.requested.push(ms);
    return super.setTimeout(callback, ms > MAX_TIMER_DELAY_MS ? 1 : ms);
  }
}

describe("timers longer than setTimeout can hold", () => {
  test("are chained: a 60-day token refreshes after 45 days, and expires after 60", async () => {
    expect(MAX_TIMER_DELAY_MS).toBe(2 ** 31 - 1);
    const clock = new OverflowingClock();
    const source = scriptedSource(clock, (call) => {
      if (call.n === 1) return credentialsFor(clock, 60 * DAY, "long-lived");
      throw markPermanent(new Error("identity disabled"));
    });
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const credentials = await manager.getCredentials();
    const receipt = clock.now();

    const nextRefreshAt = manager.status().nextRefreshAt!;
    expect(nextRefreshAt - receipt).toBeGreaterThanOrEqual(45 * DAY - 30 * SECOND);
    expect(nextRefreshAt - receipt).toBeLessThanOrEqual(45 * DAY);

    await clock.advance(30 * DAY);
    expect(source.calls).toHaveLength(1);
    await expectFetchAt(clock, source, nextRefreshAt);

    // The refresh failed for good; the held token is served until its expiry, not a day less.
    await clock.advanceTo(credentials.expiresAt - 1);
    expect(manager.peekCredentials()).toBe(credentials);
    expect(events.expired).toHaveLength(0);
    await clock.advanceTo(credentials.expiresAt);
    expect(events.expired).toHaveLength(1);
    expect(manager.peekCredentials()).toBeUndefined();

    expect(clock.requested.length).toBeGreaterThan(0);
    expect(Math.max(...clock.requested)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    await manager.dispose();
  });
});

// --- property-based -------------------------------------------------------------------------

const positiveDuration = fc.oneof(
  fc.integer({ min: 1, max: 10 * 60 * 60 * 1000 }),
  fc.double({ min: 1e-3, max: 1e9, noNaN: true }),
);
const nonNegativeDuration = fc.oneof(fc.constant(0), positiveDuration);

/** Any options createTokenManager accepts (schedule-related part). */
const scheduleOptionsArb = fc
  .record({
    refreshRatio: fc.double({ min: 1e-6, max: 1 - 1e-9, noNaN: true }),
    refreshBeforeExpiryMs: nonNegativeDuration,
    minRefreshIntervalMs: positiveDuration,
    refreshJitterMs: nonNegativeDuration,
    initialDelayMs: positiveDuration,
    extraDelayMs: nonNegativeDuration,
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
  })
  .map(
    (o): ScheduleOptions => ({
      refreshRatio: o.refreshRatio,
      refreshBeforeExpiryMs: o.refreshBeforeExpiryMs,
      minRefreshIntervalMs: o.minRefreshIntervalMs,
      refreshJitterMs: o.refreshJitterMs,
      retry: {
        initialDelayMs: o.initialDelayMs,
        maxDelayMs: o.initialDelayMs + o.extraDelayMs,
        multiplier: o.multiplier,
        isRetryable: undefined,
      },
    }),
  );

const lifetimeArb = fc.oneof(
  fc.double({ min: 1e-3, max: 1_000, noNaN: true }),
  fc.integer({ min: 1, max: 100 * DAY }),
  fc.double({ min: 1, max: 1e11, noNaN: true }),
);

const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

function managerOptions(o: ScheduleOptions): TokenManagerOptions {
  return {
    refreshRatio: o.refreshRatio,
    refreshBeforeExpiryMs: o.refreshBeforeExpiryMs,
    minRefreshIntervalMs: o.minRefreshIntervalMs,
    refreshJitterMs: o.refreshJitterMs,
    retry: {
      initialDelayMs: o.retry.initialDelayMs,
      maxDelayMs: o.retry.maxDelayMs,
      multiplier: o.retry.multiplier,
    },
  };
}

/** Relative tolerance for comparing floating-point formulas computed in different orders. */
const near = (a: number, b: number) =>
  Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe("schedule invariants (property-based)", () => {
  test("the generated options are ones createTokenManager accepts", () => {
    fc.assert(
      fc.property(scheduleOptionsArb, (o) => {
        const manager = createTokenManager(
          { name: "p", fetch: async () => ({ username: "u", password: "p", expiresAt: 1 }) },
          managerOptions(o),
        );
        void manager.dispose();
      }),
    );
  });

  test("refreshWindow: floor ≤ earliest ≤ latest < lifetime, never sooner than the retry floor, as the issue's formula says", () => {
    fc.assert(
      fc.property(scheduleOptionsArb, lifetimeArb, (o, L) => {
        const w = refreshWindow(L, o);
        const minGap = o.retry.initialDelayMs;
        expect(w.floorMs).toBeLessThanOrEqual(w.earliestMs);
        expect(w.earliestMs).toBeLessThanOrEqual(w.latestMs);
        expect(w.floorMs).toBeGreaterThanOrEqual(minGap);

        // The formula, raised to the retry floor.
        const floor = Math.min(o.minRefreshIntervalMs, o.refreshRatio * L);
        const target = Math.max(
          floor,
          Math.min(o.refreshRatio * L, Math.max(L - o.refreshBeforeExpiryMs, L / 2)),
        );
        const earliest = Math.max(floor, target - Math.min(o.refreshJitterMs, 0.1 * L));
        expect(near(w.floorMs, Math.max(floor, minGap))).toBe(true);
        expect(near(w.latestMs, Math.max(target, minGap))).toBe(true);
        expect(near(w.earliestMs, Math.max(earliest, minGap))).toBe(true);

        // The jitter window is never wider than refreshJitterMs nor a tenth of the lifetime
        // (up to the rounding of a subtraction at the target's magnitude).
        expect(w.latestMs - w.earliestMs).toBeLessThanOrEqual(
          Math.min(o.refreshJitterMs, L / 10) + 1e-9 * Math.max(1, w.latestMs),
        );
        // Refresh lands before expiry whenever the lifetime leaves room for the retry floor.
        if (L > minGap) expect(w.latestMs).toBeLessThan(L);
        // Never later than the ratio says (unless the retry floor pushes it).
        expect(w.latestMs).toBeLessThanOrEqual(Math.max(o.refreshRatio * L, minGap));
      }),
      { numRuns: 2_000 },
    );
  });

  test("refreshDelay lands inside the window; a hint pulls it earlier but never below the floor", () => {
    fc.assert(
      fc.property(
        scheduleOptionsArb,
        lifetimeArb,
        randomArb,
        fc.option(fc.double({ min: -1e9, max: 1e11, noNaN: true }), { nil: undefined }),
        (o, L, r, hint) => {
          const w = refreshWindow(L, o);
          const plain = refreshDelay(L, undefined, o, () => r);
          expect(plain).toBeGreaterThanOrEqual(w.earliestMs);
          expect(plain).toBeLessThanOrEqual(w.latestMs);
          expect(plain).toBeGreaterThanOrEqual(o.retry.initialDelayMs);
          if (L > o.retry.initialDelayMs) expect(plain).toBeLessThan(L);

          const hinted = refreshDelay(L, hint, o, () => r);
          expect(hinted).toBeGreaterThanOrEqual(w.floorMs);
          expect(hinted).toBeLessThanOrEqual(plain);
          if (hint !== undefined) {
            expect(hinted).toBeLessThanOrEqual(Math.max(w.floorMs, hint));
            if (hint >= plain) expect(hinted).toBe(plain);
            if (hint >= w.floorMs && hint <= plain) expect(hinted).toBe(hint);
          } else {
            expect(hinted).toBe(plain);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test("backoffDelay: attempt n waits within [initialDelayMs, min(maxDelayMs, initialDelayMs × multiplier^(n+1))]", () => {
    fc.assert(
      fc.property(scheduleOptionsArb, fc.nat({ max: 10_000 }), randomArb, (o, n, r) => {
        const { initialDelayMs, maxDelayMs, multiplier } = o.retry;
        const delay = backoffDelay(n, o.retry, () => r);
        const ceiling = Math.min(maxDelayMs, initialDelayMs * multiplier ** (n + 1));
        expect(Number.isFinite(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(initialDelayMs);
        expect(delay).toBeLessThanOrEqual(ceiling * (1 + 1e-12));
        expect(delay).toBeLessThanOrEqual(maxDelayMs * (1 + 1e-12));
      }),
      { numRuns: 2_000 },
    );
  });

  test("a source handing out expired or almost-expired tokens never drives a tight loop", async () => {
    // What the source answers after its first, good token: a token already expired (≤ 0 ms
    // left) or with under a second left; `same` re-sends the password already held.
    const badAnswerArb = fc.record({
      lifetimeMs: fc.oneof(
        fc.integer({ min: -10 * MINUTE, max: 0 }),
        fc.double({ min: 1e-3, max: 999, noNaN: true }),
      ),
      same: fc.boolean(),
    });
    const optionsArb = fc.tuple(scheduleOptionsArb, fc.integer({ min: 50, max: 5_000 })).map(
      ([o, initialDelayMs]): ScheduleOptions => ({
        ...o,
        retry: {
          ...o.retry,
          initialDelayMs,
          maxDelayMs: Math.max(o.retry.maxDelayMs, initialDelayMs),
        },
      }),
    );

    await fc.assert(
      fc.asyncProperty(
        optionsArb,
        // At least 1 ms: expiry times are whole milliseconds, so less is already expired.
        fc.double({ min: 1, max: 30 * SECOND, noNaN: true }),
        fc.array(badAnswerArb, { minLength: 1, maxLength: 8 }),
        async (o, firstLifetime, answers) => {
          const clock = new FakeClock();
          let password = "token-0";
          const source = scriptedSource(clock, (call) => {
            if (call.n === 1) return credentialsFor(clock, firstLifetime, password);
            const answer = answers[(call.n - 2) % answers.length]!;
            if (!answer.same) password = `token-${call.n}`;
            return credentialsFor(clock, answer.lifetimeMs, password);
          });
          const manager = createTokenManager(source, { ...managerOptions(o), clock });
          manager.on("refreshFailed", () => {});
          await manager.getCredentials();
          await clock.advance(60 * SECOND);

          const minGap = o.retry.initialDelayMs;
          const spacing = gaps(source.calls.map((c) => c.at));
          for (const gap of spacing) expect(gap).toBeGreaterThanOrEqual(minGap - 1e-3);
          expect(source.calls.length).toBeLessThanOrEqual(Math.floor((60 * SECOND) / minGap) + 1);
          // ...and the manager does keep trying.
          expect(source.calls.length).toBeGreaterThan(1);
          await manager.dispose();
        },
      ),
      { numRuns: 40 },
    );
  });
});
