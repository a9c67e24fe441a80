import { createTokenManager, ManagerDisposedError, type TokenManager } from "../../src";
import { FakeClock, flushPromises } from "../fake-clock";
import { countingSource, HOUR, MINUTE, manualSource, settle } from "../sources";

/** Every public method after disposal, as the issue lists it. */
async function expectDisposed(manager: TokenManager) {
  await expect(manager.getCredentials()).rejects.toBeInstanceOf(ManagerDisposedError);
  await expect(manager.refresh()).rejects.toBeInstanceOf(ManagerDisposedError);
  expect(() => manager.subscribe(() => {})).toThrow(ManagerDisposedError);
  expect(() => manager.on("refreshed", () => {})).toThrow(ManagerDisposedError);
  expect(() => manager.peekCredentials()).toThrow(ManagerDisposedError);
  expect(manager.status().state).toBe("disposed");
  expect(manager.off("refreshed", () => {})).toBe(manager);
  await expect(manager.dispose()).resolves.toBeUndefined();
}

test("dispose cancels every timer: scheduled refresh, expiry, pending fan-out deliveries", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock, reauthSpreadMs: MINUTE });
  const heard = jest.fn();
  for (let i = 0; i < 20; i++) manager.subscribe(heard);
  await manager.getCredentials();
  await clock.advanceTo(manager.status().nextRefreshAt as number);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  // Refresh timer, expiry timer and 20 fan-out deliveries waiting for their turn.
  expect(clock.pending).toBeGreaterThanOrEqual(22);
  const heardBefore = heard.mock.calls.length;

  await manager.dispose();
  expect(clock.pending).toBe(0);
  await clock.advance(10 * HOUR);
  expect(heard).toHaveBeenCalledTimes(heardBefore);
  expect(source.fetch).toHaveBeenCalledTimes(2);
});

test("dispose aborts an in-flight fetch through its signal and rejects everyone waiting on it", async () => {
  const clock = new FakeClock();
  const source = manualSource();
  const manager = createTokenManager(source, { clock });
  const getters = Array.from({ length: 10 }, () => settle(manager.getCredentials()));
  const refresher = settle(manager.refresh());
  await clock.advance(0);
  expect(source.fetch).toHaveBeenCalledTimes(1);
  const signal = source.calls[0]?.context.signal as AbortSignal;
  const aborted = jest.fn();
  signal.addEventListener("abort", aborted);
  // A well-behaved source rejects when its signal aborts.
  signal.addEventListener("abort", () => source.last().reject(signal.reason));
  expect(signal.aborted).toBe(false);

  await manager.dispose();
  expect(signal.aborted).toBe(true);
  expect(aborted).toHaveBeenCalledTimes(1);
  expect(signal.reason).toBeInstanceOf(ManagerDisposedError);
  for (const outcome of await Promise.all([...getters, refresher])) {
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(ManagerDisposedError);
  }
  await flushPromises();
  expect(clock.pending).toBe(0);
  await expectDisposed(manager);
});

test("dispose leaves no timer behind even when the in-flight fetch ignores its signal", async () => {
  const clock = new FakeClock();
  const source = manualSource("deaf");
  const manager = createTokenManager(source, { clock });
  const waiting = settle(manager.getCredentials());
  await clock.advance(0);
  expect(source.fetch).toHaveBeenCalledTimes(1);
  expect(clock.pending).toBeGreaterThan(0); // the fetch timeout

  await manager.dispose();
  expect((await waiting).ok).toBe(false);
  await flushPromises();
  expect(source.calls[0]?.context.signal.aborted).toBe(true);
  // The fetch never settles; the manager's own fetchTimeoutMs timer must still be gone.
  expect(clock.pending).toBe(0);
});

test("a late answer from a fetch aborted by dispose changes nothing", async () => {
  const clock = new FakeClock();
  const source = manualSource();
  const manager = createTokenManager(source, { clock });
  const heard = jest.fn();
  const refreshed = jest.fn();
  const first = manager.getCredentials();
  source.last().resolve({ username: "u", password: "token-1", expiresAt: clock.now() + HOUR });
  await first;
  manager.subscribe(heard);
  manager.on("refreshed", refreshed);
  await clock.advanceTo(manager.status().nextRefreshAt as number);
  expect(source.fetch).toHaveBeenCalledTimes(2);

  await manager.dispose();
  source.last().resolve({ username: "u", password: "token-2", expiresAt: clock.now() + HOUR });
  await clock.advance(HOUR);
  expect(heard).not.toHaveBeenCalled();
  expect(refreshed).not.toHaveBeenCalled();
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(clock.pending).toBe(0);
  await expectDisposed(manager);
});

test("after dispose: methods reject or throw ManagerDisposedError; off, unsubscribe and a second dispose do nothing", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock });
  const handler = jest.fn();
  manager.on("refreshed", handler);
  const unsubscribe = manager.subscribe(() => {});
  await manager.getCredentials();
  expect(manager.status().state).toBe("ready");

  await manager.dispose();
  expect(() => unsubscribe()).not.toThrow();
  expect(() => manager.off("refreshed", handler)).not.toThrow();
  expect(manager.status().state).toBe("disposed");
  expect(manager.status().counters.subscribers).toBe(0);
  expect(manager.status().nextRefreshAt).toBeUndefined();
  await expectDisposed(manager);
  await expect(manager[Symbol.asyncDispose]()).resolves.toBeUndefined();
  expect(source.fetch).toHaveBeenCalledTimes(1);
  expect(handler).toHaveBeenCalledTimes(1);
});

test("dispose of a manager that never fetched works and leaves nothing behind", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock);
  const manager = createTokenManager(source, { clock });
  expect(manager.status().state).toBe("idle");
  await manager.dispose();
  expect(clock.pending).toBe(0);
  await expectDisposed(manager);
  expect(source.fetch).not.toHaveBeenCalled();
});

test("`await using` disposes the manager at the end of the block", async () => {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  let escaped: TokenManager | undefined;
  {
    await using manager = createTokenManager(source, { clock });
    escaped = manager;
    await manager.getCredentials();
    expect(clock.pending).toBeGreaterThan(0);
    expect(manager.status().state).toBe("ready");
  }
  expect(escaped.status().state).toBe("disposed");
  expect(clock.pending).toBe(0);
  await clock.advance(2 * HOUR);
  expect(source.fetch).toHaveBeenCalledTimes(1);
});

test("Symbol.asyncDispose is the same as dispose(), including a pending getCredentials", async () => {
  const clock = new FakeClock();
  const source = manualSource();
  const manager = createTokenManager(source, { clock });
  const waiting = settle(manager.getCredentials());
  await clock.advance(0);
  await manager[Symbol.asyncDispose]();
  const outcome = await waiting;
  expect(outcome.ok).toBe(false);
  expect((outcome as { error: unknown }).error).toBeInstanceOf(ManagerDisposedError);
  expect(source.calls[0]?.context.signal.aborted).toBe(true);
  await expectDisposed(manager);
  await clock.advance(MINUTE);
});
