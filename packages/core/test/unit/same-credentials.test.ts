import { createTokenManager, type RedisCredentials } from "../../src";
import { FakeClock } from "../fake-clock";
import { gaps, recordEvents, scriptedSource } from "../helpers";
import { HOUR, MINUTE, SECOND } from "../sources";

afterEach(() => {
  jest.restoreAllMocks();
});

function subscriberLog(manager: { subscribe(l: (c: RedisCredentials) => void): () => void }) {
  const heard: string[] = [];
  manager.subscribe((c) => {
    heard.push(c.password);
  });
  return heard;
}

describe("a fetch that returns the credentials already held", () => {
  test("with the same expiry: no fan-out, no refresh counted, and retries follow the backoff (no tight loop)", async () => {
    const clock = new FakeClock();
    // An identity library's cache: the very same token until it expires.
    const cached = {
      username: "app-user",
      password: "cached-token",
      expiresAt: clock.now() + HOUR,
    };
    const source = scriptedSource(clock, () => ({ ...cached }));
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const heard = subscriberLog(manager);
    const first = await manager.getCredentials();

    const refreshAt = manager.status().nextRefreshAt!;
    await clock.advanceTo(refreshAt);
    expect(source.calls).toHaveLength(2);
    expect(manager.peekCredentials()).toBe(first);
    // The next attempt is a backoff step away, [250, 500] ms, not the refresh schedule over again.
    const next = manager.status().nextRefreshAt!;
    expect(next - clock.now()).toBeGreaterThanOrEqual(250);
    expect(next - clock.now()).toBeLessThanOrEqual(500);

    await clock.advanceTo(cached.expiresAt - 1);
    const repeats = source.calls.slice(1);
    expect(repeats.length).toBeGreaterThan(5);
    // 15 minutes of the same answer: the backoff keeps the fetches few.
    expect(repeats.length).toBeLessThan(200);
    gaps(repeats.map((call) => call.at)).forEach((gap, n) => {
      expect(gap).toBeGreaterThanOrEqual(250);
      expect(gap).toBeLessThanOrEqual(Math.min(30 * SECOND, 250 * 2 ** (n + 1)) + 1e-6);
    });
    expect(repeats.slice(1).every((call) => call.reason === "retry")).toBe(true);

    // Never a refresh, never a failure, never a fan-out.
    expect(manager.status().counters).toEqual({
      fetches: repeats.length + 1,
      failures: 0,
      refreshes: 1,
      subscribers: 1,
    });
    expect(events.refreshed).toHaveLength(1);
    expect(events.refreshFailed).toHaveLength(0);
    expect(heard).toEqual([]);
    expect(manager.peekCredentials()).toBe(first);
    await manager.dispose();
  });

  test("with a later expiry: adopted silently and rescheduled from the new lifetime", async () => {
    const clock = new FakeClock();
    // The cache hands out the same token, its lifetime extended (a sliding session, say).
    const source = scriptedSource(clock, () => ({
      username: "app-user",
      password: "same-token",
      expiresAt: clock.now() + HOUR,
    }));
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const heard = subscriberLog(manager);
    const first = await manager.getCredentials();

    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(source.calls).toHaveLength(2);
    const adoptedAt = clock.now();

    const held = manager.peekCredentials()!;
    expect(held.password).toBe("same-token");
    expect(held.expiresAt).toBe(adoptedAt + HOUR);
    expect(manager.status().expiresAt).toBe(adoptedAt + HOUR);
    await expect(manager.getCredentials()).resolves.toBe(held);

    const next = manager.status().nextRefreshAt! - adoptedAt;
    expect(next).toBeGreaterThanOrEqual(44.5 * MINUTE);
    expect(next).toBeLessThanOrEqual(45 * MINUTE);

    // The old expiry passes unnoticed: the token is still good.
    await clock.advanceTo(first.expiresAt + MINUTE);
    expect(events.expired).toHaveLength(0);
    expect(manager.status().state).toBe("ready");
    expect(source.calls).toHaveLength(2);

    expect(events.refreshed).toHaveLength(1);
    expect(manager.status().counters.refreshes).toBe(1);
    expect(heard).toEqual([]);

    // And the refresh does come on the new schedule.
    await clock.advanceTo(adoptedAt + next);
    expect(source.calls).toHaveLength(3);
    expect(source.calls[2]?.reason).toBe("scheduled");
    await manager.dispose();
  });

  test("the backoff resets when different credentials arrive", async () => {
    // Every random draw at the top of its range: each wait is its attempt's ceiling.
    jest.spyOn(Math, "random").mockReturnValue(1 - 2 ** -40);
    const clock = new FakeClock();
    const start = clock.now();
    // Calls 1–6 return token A; 7 and 8 return token B; then C.
    const passwordFor = (n: number) => (n <= 6 ? "token-A" : n <= 8 ? "token-B" : "token-C");
    const expiries = new Map<string, number>();
    const source = scriptedSource(clock, (call) => {
      const password = passwordFor(call.n);
      if (!expiries.has(password)) expiries.set(password, clock.now() + HOUR);
      return { username: "app-user", password, expiresAt: expiries.get(password)! };
    });
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const heard = subscriberLog(manager);
    await manager.getCredentials();

    await clock.advanceTo(start + 45 * MINUTE + 20 * SECOND);
    expect(source.calls.length).toBeGreaterThanOrEqual(7);
    const times = source.calls.map((call) => call.at);
    // Token A again from calls 2–6: waits of 500, 1,000, 2,000, 4,000 and 8,000 ms.
    expect(gaps(times.slice(1, 7)).map(Math.round)).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
    // Token B arrives: a real refresh, fanned out.
    expect(events.refreshed).toHaveLength(2);
    await clock.advance(10 * SECOND);
    expect(heard).toEqual(["token-B"]);

    // B's own scheduled refresh returns B again: the backoff starts from its first step.
    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(source.calls).toHaveLength(8);
    expect(passwordFor(8)).toBe("token-B");
    const retryIn = manager.status().nextRefreshAt! - clock.now();
    expect(Math.round(retryIn)).toBe(500);
    await clock.advance(retryIn);
    expect(source.calls).toHaveLength(9);
    expect(manager.peekCredentials()?.password).toBe("token-C");
    expect(events.refreshFailed).toHaveLength(0);
    await manager.dispose();
  });

  test("'same' means same user name and password: either one changing is new credentials", async () => {
    const clock = new FakeClock();
    const answers = [
      { username: "user-1", password: "secret-1" },
      { username: "user-1", password: "secret-2" },
      { username: "user-2", password: "secret-2" },
    ];
    const source = scriptedSource(clock, (call) => ({
      ...answers[Math.min(call.n, answers.length) - 1]!,
      expiresAt: clock.now() + HOUR,
    }));
    const manager = createTokenManager(source, { clock });
    const heard: string[] = [];
    manager.subscribe((c) => {
      heard.push(`${c.username}/${c.password}`);
    });
    await manager.getCredentials();
    for (let i = 0; i < 2; i++) {
      await clock.advanceTo(manager.status().nextRefreshAt!);
      await clock.advance(10 * SECOND);
    }
    expect(heard).toEqual(["user-1/secret-2", "user-2/secret-2"]);
    expect(manager.status().counters.refreshes).toBe(3);
    await manager.dispose();
  });
});

describe("credentials that never expire", () => {
  test("leave no timer after a forced refresh that returns them again", async () => {
    const clock = new FakeClock();
    const source = scriptedSource(clock, () => ({
      username: "default",
      password: "access-key",
      expiresAt: Number.POSITIVE_INFINITY,
    }));
    const manager = createTokenManager(source, { clock });
    await manager.getCredentials();
    expect(clock.pending).toBe(0);
    await manager.refresh();
    expect(manager.status().nextRefreshAt).toBeUndefined();
    expect(clock.pending).toBe(0);
    await clock.advance(HOUR);
    expect(source.calls).toHaveLength(2);
    await manager.dispose();
  });
});

describe("what the backoff counts and what clears lastError", () => {
  test("a permanent failure is not counted; unchanged credentials count; an extension resets the count", async () => {
    jest.spyOn(Math, "random").mockReturnValue(1 - 2 ** -40);
    const clock = new FakeClock();
    const expiresAt = clock.now() + HOUR;
    // 1: A. 2-3: A unchanged (count 0, 1). 4: A with a later expiry (count resets).
    const source = scriptedSource(clock, (call) => ({
      username: "app-user",
      password: "token-A",
      expiresAt: call.n >= 4 ? expiresAt + HOUR : expiresAt,
    }));
    const manager = createTokenManager(source, { clock });
    const attempts: number[] = [];
    const diagnostics =
      require("node:diagnostics_channel") as typeof import("node:diagnostics_channel");
    const onFetch = (message: unknown) => attempts.push((message as { attempt: number }).attempt);
    diagnostics.subscribe("redis-credentials:fetch", onFetch);
    try {
      await manager.getCredentials();
      await clock.advanceTo(manager.status().nextRefreshAt!); // 2: unchanged → retry n = 0
      await clock.advanceTo(manager.status().nextRefreshAt!); // 3: unchanged → retry n = 1
      await clock.advanceTo(manager.status().nextRefreshAt!); // 4: extended → count reset
      expect(source.calls).toHaveLength(4);
      expect(attempts).toEqual([0, 0, 1, 2]);
      expect(manager.status().expiresAt).toBe(expiresAt + HOUR);
      // The next attempt starts from n = 0 again.
      await clock.advanceTo(manager.status().nextRefreshAt!);
      expect(attempts[4]).toBe(0);
    } finally {
      diagnostics.unsubscribe("redis-credentials:fetch", onFetch);
    }
    await manager.dispose();
  });

  test("lastError is cleared by the next attempt that succeeds, unchanged credentials included", async () => {
    const clock = new FakeClock();
    let fail = false;
    const source = scriptedSource(clock, () => {
      if (fail) throw new Error("identity provider unavailable");
      return { username: "app-user", password: "cached", expiresAt: clock.now() + HOUR };
    });
    const manager = createTokenManager(source, { clock, minRefreshIntervalMs: 1 });
    await manager.getCredentials();
    fail = true;
    await manager.refresh().catch(() => {});
    expect(manager.status().lastError?.message).toMatch(/identity provider unavailable/);
    fail = false;
    await clock.advanceTo(manager.status().nextRefreshAt!); // same password again
    expect(manager.status().lastError).toBeUndefined();
    await manager.dispose();
  });
});
