import { createTokenManager } from "../../src";
import {
  createFakeClock,
  DEFAULT_FAKE_CLOCK_START,
  FakeClock,
  FakeClockLoopError,
  flushPromises,
} from "../../src/testing";

describe("createFakeClock", () => {
  test("starts at a fixed instant, or at the one given", () => {
    expect(createFakeClock().now()).toBe(Date.UTC(2026, 0, 1));
    expect(DEFAULT_FAKE_CLOCK_START).toBe(Date.UTC(2026, 0, 1));
    expect(createFakeClock({ now: 42 }).now()).toBe(42);
    expect(createFakeClock()).toBeInstanceOf(FakeClock);
  });

  test("refuses a start that is not a finite number", () => {
    expect(() => createFakeClock({ now: Number.NaN })).toThrow(RangeError);
  });

  test("time stands still until the test moves it", async () => {
    const clock = createFakeClock();
    const start = clock.now();
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, 0);
    await flushPromises();
    expect(clock.now()).toBe(start);
    expect(fired).toBe(false);
  });
});

describe("advance", () => {
  test("runs due timers in time order, ties in creation order, each at its own time", async () => {
    const clock = createFakeClock({ now: 0 });
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => ran.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => ran.push(`b1@${clock.now()}`), 200);
    clock.setTimeout(() => ran.push(`b2@${clock.now()}`), 200);
    clock.setTimeout(() => ran.push("late"), 301);

    await clock.advance(300);

    expect(ran).toEqual(["a@100", "b1@200", "b2@200", "c@300"]);
    expect(clock.now()).toBe(300);
    expect(clock.pending).toBe(1);
    expect(clock.nextAt()).toBe(301);
  });

  test("runs timers that a timer schedules inside the window", async () => {
    const clock = createFakeClock({ now: 0 });
    const ran: number[] = [];
    const tick = () => {
      ran.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    await clock.advance(350);
    expect(ran).toEqual([100, 200, 300]);
    expect(clock.nextAt()).toBe(400);
  });

  test("lets async work a timer starts settle before the next timer runs", async () => {
    const clock = createFakeClock({ now: 0 });
    const log: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => log.push("first timer's promise chain"));
    }, 10);
    clock.setTimeout(() => log.push("second timer"), 10);
    await clock.advance(10);
    expect(log).toEqual(["first timer's promise chain", "second timer"]);
  });

  test("a cleared timer never runs", async () => {
    const clock = createFakeClock();
    const callback = jest.fn();
    const handle = clock.setTimeout(callback, 50);
    expect(clock.pending).toBe(1);
    clock.clearTimeout(handle);
    expect(clock.pending).toBe(0);
    expect(clock.nextAt()).toBeUndefined();
    await clock.advance(1_000);
    expect(callback).not.toHaveBeenCalled();
  });

  test("refuses negative, NaN and infinite steps", async () => {
    const clock = createFakeClock();
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    await expect(clock.advance(Number.NaN)).rejects.toThrow(RangeError);
    await expect(clock.advance(Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    expect(clock.now()).toBe(DEFAULT_FAKE_CLOCK_START);
  });

  test("advanceTo moves to an instant; one already past only runs what is due", async () => {
    const clock = createFakeClock({ now: 1_000 });
    const callback = jest.fn();
    clock.setTimeout(callback, 0);
    await clock.advanceTo(500);
    expect(clock.now()).toBe(1_000);
    expect(callback).toHaveBeenCalledTimes(1);
    await clock.advanceTo(5_000);
    expect(clock.now()).toBe(5_000);
  });
});

describe("delays follow Node's rules", () => {
  test("a zero, negative or NaN delay runs at the current instant, with runDueTimers", async () => {
    const clock = createFakeClock({ now: 0 });
    const ran: number[] = [];
    clock.setTimeout(() => ran.push(clock.now()), 0);
    clock.setTimeout(() => ran.push(clock.now()), -5);
    clock.setTimeout(() => ran.push(clock.now()), Number.NaN);
    await clock.runDueTimers();
    expect(ran).toEqual([0, 0, 0]);
    expect(clock.now()).toBe(0);
  });

  test("a delay beyond 2^31-1 ms overflows and fires after 1 ms, as Node's setTimeout does", async () => {
    const clock = createFakeClock({ now: 0 });
    const callback = jest.fn();
    clock.setTimeout(callback, 2 ** 31);
    expect(clock.nextAt()).toBe(1);
    await clock.advance(1);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  test("delays records every delay as asked for", () => {
    const clock = createFakeClock();
    clock.setTimeout(() => {}, 250);
    clock.setTimeout(() => {}, 2 ** 31);
    expect(clock.delays).toEqual([250, 2 ** 31]);
  });
});

describe("runAll", () => {
  test("moves from timer to timer until none is left", async () => {
    const clock = createFakeClock({ now: 0 });
    const ran: number[] = [];
    clock.setTimeout(() => {
      ran.push(clock.now());
      clock.setTimeout(() => ran.push(clock.now()), 1_000);
    }, 500);
    await clock.runAll();
    expect(ran).toEqual([500, 1_500]);
    expect(clock.now()).toBe(1_500);
    expect(clock.pending).toBe(0);
  });

  test("throws instead of looping forever on a timer that re-arms itself", async () => {
    const clock = createFakeClock({ now: 0 });
    const tick = () => clock.setTimeout(tick, 10);
    tick();
    const error = await clock.runAll({ limit: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FakeClockLoopError);
    expect((error as Error).message).toContain("advance()");
    expect(clock.now()).toBe(500);
  });
});

describe("monotonic time and wall-clock jumps", () => {
  test("monotonicNow starts at 0 and moves with advance, advanceTo and runAll", async () => {
    const clock = createFakeClock({ now: 1_000 });
    expect(clock.monotonicNow()).toBe(0);
    await clock.advance(250);
    expect(clock.monotonicNow()).toBe(250);
    await clock.advanceTo(2_000);
    expect(clock.monotonicNow()).toBe(1_000);
    expect(clock.now()).toBe(2_000);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.monotonicNow()), 500);
    await clock.runAll();
    expect(seen).toEqual([1_500]);
    expect(clock.monotonicNow()).toBe(1_500);
    expect(clock.now()).toBe(2_500);
  });

  test("a timer sees both clocks at its own time", async () => {
    const clock = createFakeClock({ now: 10_000 });
    const seen: [number, number][] = [];
    clock.setTimeout(() => seen.push([clock.now(), clock.monotonicNow()]), 100);
    await clock.advance(300);
    expect(seen).toEqual([[10_100, 100]]);
  });

  test("jumpWallClock steps now() alone, either way, and fires nothing", async () => {
    const clock = createFakeClock({ now: 5_000 });
    const callback = jest.fn();
    clock.setTimeout(callback, 1_000);
    clock.jumpWallClock(60_000);
    expect(clock.now()).toBe(65_000);
    expect(clock.monotonicNow()).toBe(0);
    await clock.flushPromises();
    expect(callback).not.toHaveBeenCalled();
    expect(clock.pending).toBe(1);
    clock.jumpWallClock(-120_000);
    expect(clock.now()).toBe(-55_000);
    expect(clock.monotonicNow()).toBe(0);
    expect(callback).not.toHaveBeenCalled();
  });

  test("timers run on monotonic time: a jump neither brings one forward nor holds it back", async () => {
    const clock = createFakeClock({ now: 0 });
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`a@${clock.now()}/${clock.monotonicNow()}`), 1_000);
    clock.jumpWallClock(10_000);
    // The timer is still 1 s away, which the wall clock now reads as 11 000.
    expect(clock.nextAt()).toBe(11_000);
    await clock.advance(999);
    expect(ran).toEqual([]);
    clock.setTimeout(() => ran.push(`b@${clock.now()}/${clock.monotonicNow()}`), 1);
    clock.jumpWallClock(-10_000);
    await clock.advance(1);
    expect(ran).toEqual(["a@1000/1000", "b@1000/1000"]);
  });

  test("advanceTo still means 'advance by epochMs - now()' after a jump", async () => {
    const clock = createFakeClock({ now: 0 });
    const callback = jest.fn();
    clock.setTimeout(callback, 3_000);
    clock.jumpWallClock(5_000);
    // Two seconds by the wall clock as it reads now: not yet the timer's 3 s.
    await clock.advanceTo(7_000);
    expect(clock.monotonicNow()).toBe(2_000);
    expect(callback).not.toHaveBeenCalled();
    // An instant the jump has already passed moves nothing.
    await clock.advanceTo(4_000);
    expect(clock.now()).toBe(7_000);
    expect(clock.monotonicNow()).toBe(2_000);
    await clock.advanceTo(8_000);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  test("jumpWallClock refuses NaN, infinities and non-numbers", () => {
    const clock = createFakeClock();
    expect(() => clock.jumpWallClock(Number.NaN)).toThrow(RangeError);
    expect(() => clock.jumpWallClock(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.jumpWallClock(Number.NEGATIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.jumpWallClock("5" as unknown as number)).toThrow(RangeError);
    expect(clock.now()).toBe(DEFAULT_FAKE_CLOCK_START);
  });
});

test("flushPromises lets a chain of promise jobs finish", async () => {
  const clock = createFakeClock();
  let done = false;
  void Promise.resolve()
    .then(() => undefined)
    .then(() => undefined)
    .then(() => {
      done = true;
    });
  await clock.flushPromises();
  expect(done).toBe(true);
});

test("drives a core token manager: the refresh happens when the clock reaches it, not before", async () => {
  const clock = createFakeClock();
  let n = 0;
  const source = {
    name: "counting",
    fetch: jest.fn(async () => ({
      username: "app",
      password: `token-${++n}`,
      expiresAt: clock.now() + 60 * 60_000,
    })),
  };
  const manager = createTokenManager(source, { clock, refreshJitterMs: 0 });
  expect((await manager.getCredentials()).password).toBe("token-1");
  const { nextRefreshAt } = manager.status();
  expect(nextRefreshAt).toBe(clock.now() + 45 * 60_000);

  await clock.advanceTo((nextRefreshAt as number) - 1);
  expect(source.fetch).toHaveBeenCalledTimes(1);
  await clock.advanceTo(nextRefreshAt as number);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(manager.peekCredentials()?.password).toBe("token-2");
  await manager.dispose();
});

test("works alongside jest's fake timers when setImmediate stays real, as the docs say", async () => {
  jest.useFakeTimers({ doNotFake: ["setImmediate"] });
  try {
    const clock = createFakeClock({ now: 0 });
    const ran: number[] = [];
    clock.setTimeout(() => {
      void Promise.resolve().then(() => ran.push(clock.now()));
    }, 100);
    await clock.advance(100);
    expect(ran).toEqual([100]);
  } finally {
    jest.useRealTimers();
  }
});
