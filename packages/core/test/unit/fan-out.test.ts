import { createTokenManager, type RedisCredentials, type TokenManager } from "../../src";
import { FakeClock } from "../fake-clock";
import { countingSource, HOUR, MINUTE } from "../sources";

interface Heard {
  readonly password: string;
  readonly at: number;
}

/** Subscribes `count` listeners that record what they hear and when. */
function subscribeMany(manager: TokenManager, clock: FakeClock, count: number) {
  const heard: Heard[][] = [];
  const unsubscribe: (() => void)[] = [];
  for (let i = 0; i < count; i++) {
    const log: Heard[] = [];
    heard.push(log);
    unsubscribe.push(
      manager.subscribe((credentials) => {
        log.push({ password: credentials.password, at: clock.now() });
      }),
    );
  }
  return { heard, unsubscribe };
}

/** Records when each `refreshed` event fires, by the password it brought. */
function arrivals(manager: TokenManager, clock: FakeClock) {
  const byCount: number[] = [];
  manager.on("refreshed", () => {
    byCount.push(clock.now());
  });
  return {
    /** When the n-th new credentials (from 1) arrived. */
    of(n: number): number {
      const time = byCount[n - 1];
      if (time === undefined) throw new Error(`credentials #${n} never arrived`);
      return time;
    },
  };
}

test("1,000 subscribers each hear of new credentials exactly once, staggered across the spread window", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock });
  const arrived = arrivals(manager, clock);
  const { heard } = subscribeMany(manager, clock, 1_000);

  const first = await manager.getCredentials();
  expect(first.password).toBe("token-1");
  await clock.advance(50 * MINUTE);
  expect(source.fetch).toHaveBeenCalledTimes(2);

  const arrival = arrived.of(2);
  const spreadMs = Math.min(5_000, (first.expiresAt - arrival) / 2);
  expect(spreadMs).toBe(5_000);
  const times: number[] = [];
  for (const log of heard) {
    expect(log).toHaveLength(1);
    const [only] = log as [Heard];
    expect(only.password).toBe("token-2");
    expect(only.at).toBeGreaterThanOrEqual(arrival);
    expect(only.at).toBeLessThanOrEqual(arrival + spreadMs);
    times.push(only.at);
  }
  // Staggered: nearly every delivery at its own instant, and spread over the whole window.
  expect(new Set(times).size).toBeGreaterThanOrEqual(900);
  const buckets = new Array<number>(10).fill(0);
  for (const t of times) {
    const bucket = Math.min(9, Math.floor(((t - arrival) / spreadMs) * 10));
    buckets[bucket] = (buckets[bucket] ?? 0) + 1;
  }
  for (const count of buckets) {
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(200);
  }
  await manager.dispose();
});

test("the spread window shrinks to half the time the previous credentials had left", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  // A spread longer than half the remaining 15 minutes: the half wins.
  const manager = createTokenManager(source, { clock, reauthSpreadMs: 20 * MINUTE });
  const arrived = arrivals(manager, clock);
  const { heard } = subscribeMany(manager, clock, 200);
  const first = await manager.getCredentials();
  await clock.advance(59 * MINUTE);
  expect(source.fetch).toHaveBeenCalledTimes(2);

  const arrival = arrived.of(2);
  const halfLeft = (first.expiresAt - arrival) / 2;
  expect(halfLeft).toBeLessThan(20 * MINUTE);
  const times = heard.map((log) => {
    expect(log.map((h) => h.password)).toEqual(["token-2"]);
    return (log[0] as Heard).at;
  });
  expect(Math.min(...times)).toBeGreaterThanOrEqual(arrival);
  expect(Math.max(...times)).toBeLessThanOrEqual(arrival + halfLeft);
  // ... and is used: the latest delivery lands in the last fifth of that window.
  expect(Math.max(...times)).toBeGreaterThan(arrival + 0.8 * halfLeft);
  // Every connection re-authenticates before the old credentials expire.
  expect(Math.max(...times)).toBeLessThan(first.expiresAt);
  await manager.dispose();
});

test("a short-lived token's fan-out fits inside half of what the old one had left", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: 5_000 });
  const manager = createTokenManager(source, { clock });
  const arrived = arrivals(manager, clock);
  const { heard } = subscribeMany(manager, clock, 100);
  const start = clock.now();
  await manager.getCredentials();
  await clock.advance(4_500);
  // The 5-second token is refreshed at 3.75 s with 1.25 s left: the spread is 625 ms.
  const arrival = arrived.of(2);
  expect(arrival - start).toBe(3_750);
  for (const log of heard) {
    expect(log.map((h) => h.password)).toEqual(["token-2"]);
    const at = (log[0] as Heard).at;
    expect(at).toBeGreaterThanOrEqual(arrival);
    expect(at).toBeLessThanOrEqual(arrival + 625);
  }
  expect(new Set(heard.map((log) => (log[0] as Heard).at)).size).toBeGreaterThan(50);
  await manager.dispose();
});

test("subscribe() never calls the listener with the current credentials and the first credentials are not fanned out", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock, reauthSpreadMs: 0 });
  const early = jest.fn();
  manager.subscribe(early);
  await manager.getCredentials();
  await clock.advance(MINUTE);
  expect(early).not.toHaveBeenCalled();

  const late = jest.fn();
  manager.subscribe(late);
  await clock.advance(MINUTE);
  expect(late).not.toHaveBeenCalled();
  expect(early).not.toHaveBeenCalled();

  const next = await manager.refresh();
  expect(next.password).toBe("token-2");
  expect(early).toHaveBeenCalledTimes(1);
  expect(late).toHaveBeenCalledTimes(1);
  expect((early.mock.calls[0] as [RedisCredentials])[0].password).toBe("token-2");
  expect((late.mock.calls[0] as [RedisCredentials])[0].password).toBe("token-2");
  await manager.dispose();
});

test("a throwing and a rejecting subscriber affect neither the others nor the manager; their errors reach subscriberError", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock });
  const reported: unknown[] = [];
  manager.on("subscriberError", (error) => {
    reported.push(error);
  });
  const before = subscribeMany(manager, clock, 25);
  const thrown = new Error("listener threw");
  const rejected = new Error("listener rejected");
  manager.subscribe(() => {
    throw thrown;
  });
  manager.subscribe(async () => {
    throw rejected;
  });
  const after = subscribeMany(manager, clock, 25);
  const everyone = [...before.heard, ...after.heard];

  await manager.getCredentials();
  await clock.advance(50 * MINUTE);
  for (const log of everyone) expect(log.map((h) => h.password)).toEqual(["token-2"]);
  expect(reported).toHaveLength(2);
  expect(reported).toContain(thrown);
  expect(reported).toContain(rejected);
  expect(manager.status().state).toBe("ready");
  expect(manager.status().nextRefreshAt).toBeGreaterThan(clock.now());

  // The manager keeps refreshing and fanning out.
  await clock.advance(50 * MINUTE);
  expect(source.fetch).toHaveBeenCalledTimes(3);
  for (const log of everyone) expect(log.map((h) => h.password)).toEqual(["token-2", "token-3"]);
  expect(reported.filter((e) => e === thrown)).toHaveLength(2);
  expect(reported.filter((e) => e === rejected)).toHaveLength(2);
  expect(reported).toHaveLength(4);
  expect((await manager.getCredentials()).password).toBe("token-3");
  await manager.dispose();
});

test("a subscriber unsubscribed during a fan-out, before its turn, never hears of it", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock });
  const count = 100;
  const heard: string[][] = Array.from({ length: count }, () => []);
  const unsubscribe: (() => void)[] = [];
  const victims = new Set<number>();
  let fanOutStarted = false;
  for (let i = 0; i < count; i++) {
    unsubscribe.push(
      manager.subscribe((credentials) => {
        (heard[i] as string[]).push(credentials.password);
        if (fanOutStarted) return;
        fanOutStarted = true;
        // The first delivery: every odd-numbered subscriber that has not heard yet leaves.
        for (let j = 1; j < count; j += 2) {
          if ((heard[j] as string[]).length === 0) {
            victims.add(j);
            (unsubscribe[j] as () => void)();
          }
        }
      }),
    );
  }
  await manager.getCredentials();
  await clock.advance(50 * MINUTE);
  expect(victims.size).toBeGreaterThanOrEqual(49);
  expect(manager.status().counters.subscribers).toBe(count - victims.size);
  for (let i = 0; i < count; i++) {
    expect(heard[i]).toEqual(victims.has(i) ? [] : ["token-2"]);
  }
  // ... nor of anything later.
  await clock.advance(50 * MINUTE);
  for (let i = 0; i < count; i++) {
    expect(heard[i]).toEqual(victims.has(i) ? [] : ["token-2", "token-3"]);
  }
  await manager.dispose();
});

test("a subscriber still waiting for its turn when newer credentials arrive hears only the newest", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock, reauthSpreadMs: 10 * MINUTE });
  const arrived = arrivals(manager, clock);
  const { heard } = subscribeMany(manager, clock, 200);
  await manager.getCredentials();

  const scheduledAt = manager.status().nextRefreshAt as number;
  await clock.advanceTo(scheduledAt);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  // Half-way through the fan-out of token-2, a forced refresh brings token-3.
  await clock.advance(3 * MINUTE);
  const someHeard = heard.filter((log) => log.length > 0).length;
  expect(someHeard).toBeGreaterThan(0);
  expect(someHeard).toBeLessThan(heard.length);
  expect((await manager.refresh()).password).toBe("token-3");
  const third = arrived.of(3);
  await clock.advance(20 * MINUTE);

  let onlyNewest = 0;
  for (const log of heard) {
    const passwords = log.map((h) => h.password);
    expect([["token-3"], ["token-2", "token-3"]]).toContainEqual(passwords);
    if (passwords.length === 1) onlyNewest++;
    for (const h of log) {
      if (h.password === "token-2") expect(h.at).toBeLessThan(third);
      else expect(h.at).toBeGreaterThanOrEqual(third);
    }
  }
  expect(onlyNewest).toBe(heard.length - someHeard);
  await manager.dispose();
});

test("reauthSpreadMs 0 delivers to every subscriber at once", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock, reauthSpreadMs: 0 });
  const arrived = arrivals(manager, clock);
  const { heard } = subscribeMany(manager, clock, 100);
  await manager.getCredentials();
  await clock.advance(10 * MINUTE);
  await manager.refresh();
  // No time passes: the refresh has resolved and everyone has already heard.
  for (const log of heard) expect(log).toEqual([{ password: "token-2", at: arrived.of(2) }]);
  await manager.dispose();
});

test("credentials that replace expired ones reach every subscriber at once", async () => {
  const clock = new FakeClock();
  let failing = false;
  let n = 0;
  const source = {
    name: "outage",
    fetch: jest.fn(async () => {
      if (failing) throw new Error("identity provider unavailable");
      return { username: "user", password: `token-${++n}`, expiresAt: clock.now() + HOUR };
    }),
  };
  const manager = createTokenManager(source, { clock });
  const arrived = arrivals(manager, clock);
  const expired = jest.fn();
  manager.on("expired", expired);
  manager.on("refreshFailed", () => {});
  const { heard } = subscribeMany(manager, clock, 50);
  await manager.getCredentials();
  failing = true;
  await clock.advance(HOUR + MINUTE);
  expect(expired).toHaveBeenCalledTimes(1);
  failing = false;
  await clock.advance(MINUTE);
  // The old credentials had no time left, so there is nothing to spread over.
  for (const log of heard) expect(log).toEqual([{ password: "token-2", at: arrived.of(2) }]);
  await manager.dispose();
});

test("new credentials that live shorter than the spread reach every subscriber before they expire", async () => {
  // A one-hour token is replaced, by a forced refresh, with one that lives 2 s: the spread
  // (5 s by default) is bound by half the new token's life too, so no subscriber is handed
  // credentials that have already expired.
  const clock = new FakeClock();
  let n = 0;
  const source = {
    name: "short-after-long",
    fetch: async () => {
      n += 1;
      return {
        username: "user",
        password: `token-${n}`,
        expiresAt: clock.now() + (n === 1 ? HOUR : 2_000),
      };
    },
  };
  // No margin before expiry: the 2 s token's own refresh comes after its fan-out (≥ 1.3 s).
  const manager = createTokenManager(source, {
    clock,
    minRefreshIntervalMs: 1,
    refreshBeforeExpiryMs: 0,
  });
  const received: { at: number; expiresAt: number }[] = [];
  for (let i = 0; i < 50; i++) {
    manager.subscribe((credentials) => {
      if (credentials.password !== "token-2") return; // the 2 s token's own refresh follows
      received.push({ at: clock.now(), expiresAt: credentials.expiresAt });
    });
  }
  await manager.getCredentials();
  const spreadStart = clock.now();
  await manager.refresh();
  await clock.advance(1_200);
  expect(received).toHaveLength(50);
  for (const { at, expiresAt } of received) {
    expect(at).toBeLessThan(expiresAt);
    expect(at - spreadStart).toBeLessThanOrEqual(1_000);
  }
  await manager.dispose();
});
