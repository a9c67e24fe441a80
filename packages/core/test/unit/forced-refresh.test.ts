import { CredentialsFetchError, createTokenManager } from "../../src";
import { FakeClock } from "../fake-clock";
import { countingSource, HOUR, MINUTE, manualSource, settle } from "../sources";

/** A manager on a manual source, holding the token-1 its first fetch got. */
async function managerHoldingFirstToken(sourceName?: string) {
  const clock = new FakeClock();
  const source = manualSource(sourceName);
  const manager = createTokenManager(source, { clock });
  const first = manager.getCredentials();
  source.last().resolve({ username: "u", password: "token-1", expiresAt: clock.now() + HOUR });
  const held = await first;
  return { clock, source, manager, held };
}

test("100 concurrent refresh() calls make one fetch and all get its credentials", async () => {
  const { clock, source, manager } = await managerHoldingFirstToken();
  await clock.advance(MINUTE);

  const calls = Array.from({ length: 100 }, () => manager.refresh());
  await clock.advance(0);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(source.calls[1]?.context.reason).toBe("forced");
  source.last().resolve({ username: "u", password: "token-2", expiresAt: clock.now() + HOUR });
  const results = await Promise.all(calls);
  expect(new Set(results).size).toBe(1);
  expect(results[0]?.password).toBe("token-2");
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect((await manager.getCredentials()).password).toBe("token-2");
  expect(source.fetch).toHaveBeenCalledTimes(2);
  await manager.dispose();
});

test("refresh() calls within minRefreshIntervalMs after the last forced fetch are coalesced; later ones fetch", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock, minRefreshIntervalMs: 10_000 });
  await manager.getCredentials();
  await clock.advance(MINUTE);

  const forced = await manager.refresh();
  expect(forced.password).toBe("token-2");
  expect(source.fetch).toHaveBeenCalledTimes(2);

  // Inside the interval: each call resolves with the current credentials, no fetch.
  for (const step of [0, 1_000, 5_000, 3_999]) {
    await clock.advance(step);
    const again = await manager.refresh();
    expect(again).toBe(forced);
    expect(source.fetch).toHaveBeenCalledTimes(2);
  }
  // The interval is over (10 s after the forced fetch): a new fetch.
  await clock.advance(1);
  const later = await manager.refresh();
  expect(later.password).toBe("token-3");
  expect(source.fetch).toHaveBeenCalledTimes(3);
  // ... which starts a new interval.
  await clock.advance(9_999);
  expect(await manager.refresh()).toBe(later);
  expect(source.fetch).toHaveBeenCalledTimes(3);
  await manager.dispose();
});

test("refresh() while a scheduled fetch is in flight joins it", async () => {
  const { clock, source, manager } = await managerHoldingFirstToken();

  await clock.advanceTo(manager.status().nextRefreshAt as number);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(source.calls[1]?.context.reason).toBe("scheduled");
  const forced = manager.refresh();
  const forcedToo = manager.refresh();
  await clock.advance(0);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  source.last().resolve({ username: "u", password: "token-2", expiresAt: clock.now() + HOUR });
  expect((await forced).password).toBe("token-2");
  expect(await forcedToo).toBe(await forced);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  await manager.dispose();
});

test("a failed forced fetch rejects with CredentialsFetchError while the valid credentials stay in service", async () => {
  const { clock, source, manager, held } = await managerHoldingFirstToken("flaky");
  const failures: unknown[] = [];
  manager.on("refreshFailed", (error) => {
    failures.push(error);
  });
  await clock.advance(MINUTE);

  const forced = settle(manager.refresh());
  await clock.advance(0);
  const cause = new Error("identity provider said no");
  source.last().reject(cause);
  const outcome = await forced;
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(CredentialsFetchError);
  expect((error as CredentialsFetchError).cause).toBe(cause);
  expect((error as CredentialsFetchError).source).toBe("flaky");
  expect(failures).toEqual([error]);

  // The credentials held are still served, with no fetch and no error.
  const fetches = source.fetch.mock.calls.length;
  expect(await manager.getCredentials()).toBe(held);
  expect(manager.peekCredentials()).toBe(held);
  expect(source.fetch).toHaveBeenCalledTimes(fetches);
  expect(manager.status().state).toBe("ready");
  expect(manager.status().lastError).toBe(error);
  await manager.dispose();
});

test("refresh() with no credentials starts the first attempt, and a new one after it failed", async () => {
  const clock = new FakeClock();
  const source = manualSource();
  const manager = createTokenManager(source, { clock });
  expect(manager.status().state).toBe("idle");

  const firstTry = settle(manager.refresh());
  await clock.advance(0);
  expect(source.fetch).toHaveBeenCalledTimes(1);
  expect(source.calls[0]?.context.reason).toBe("initial");
  expect(manager.status().state).toBe("acquiring");
  source.last().reject(new Error("down"));
  const failed = await firstTry;
  expect(failed.ok).toBe(false);
  expect((failed as { error: unknown }).error).toBeInstanceOf(CredentialsFetchError);
  expect(manager.status().state).toBe("idle");

  // No minimum interval applies without credentials: the next call tries again at once.
  const secondTry = manager.refresh();
  await clock.advance(0);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  source.last().resolve({ username: "u", password: "token-1", expiresAt: clock.now() + HOUR });
  const credentials = await secondTry;
  expect(credentials.password).toBe("token-1");
  expect(await manager.getCredentials()).toBe(credentials);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  await manager.dispose();
});

test("a forced refresh replaces the scheduled one and fans out like any other", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock, reauthSpreadMs: 0 });
  const heard: string[] = [];
  manager.subscribe((c) => {
    heard.push(c.password);
  });
  await manager.getCredentials();
  await clock.advance(MINUTE);
  const forced = await manager.refresh();
  expect(heard).toEqual(["token-2"]);
  expect(source.fetch.mock.calls[1]?.[0].reason).toBe("forced");
  // The next scheduled refresh is computed from the forced credentials' lifetime.
  const next = manager.status().nextRefreshAt as number;
  expect(next).toBeGreaterThan(forced.expiresAt - HOUR + 44 * MINUTE);
  expect(next).toBeLessThanOrEqual(forced.expiresAt - 15 * MINUTE);
  await clock.advanceTo(next - 1);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  await manager.dispose();
});
