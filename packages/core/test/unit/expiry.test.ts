import { getEventListeners, setMaxListeners } from "node:events";
import v8 from "node:v8";
import vm from "node:vm";
import { CredentialsExpiredError, CredentialsFetchError, createTokenManager } from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, recordEvents, scriptedSource } from "../helpers";
import { MINUTE, SECOND } from "../sources";

/**
 * A manager whose first credentials (5 min) are never replaced: every later fetch fails until
 * `recover()`. Returns once those first credentials are held.
 */
async function setup() {
  const clock = new FakeClock();
  const errors: Error[] = [];
  let healthy = false;
  const source = scriptedSource(clock, (call) => {
    if (call.n === 1 || healthy) return credentialsFor(clock, 5 * MINUTE, `token-${call.n}`);
    const error = new Error(`token endpoint returned 503 (call ${call.n})`);
    errors.push(error);
    throw error;
  });
  const manager = createTokenManager(source, { clock });
  const events = recordEvents(manager);
  const first = await manager.getCredentials();
  return {
    clock,
    source,
    manager,
    events,
    errors,
    first,
    recover() {
      healthy = true;
    },
  };
}

/** Tracks whether a promise has settled, and how. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe("when the credentials expire with no replacement", () => {
  test("`expired` is emitted exactly once, peekCredentials() is undefined and the state is 'expired'", async () => {
    const { clock, manager, events, first } = await setup();

    await clock.advanceTo(first.expiresAt - 1);
    expect(events.refreshFailed.length).toBeGreaterThan(0);
    expect(events.expired).toHaveLength(0);
    expect(manager.peekCredentials()).toBe(first);
    expect(manager.status().state).toBe("ready");

    await clock.advanceTo(first.expiresAt);
    expect(events.expired).toHaveLength(1);
    expect(events.expired[0]).toEqual({
      source: "test-source",
      expiredAt: first.expiresAt,
      lastError: expect.any(CredentialsFetchError),
    });
    expect(events.expired[0]?.lastError).toBe(events.refreshFailed.at(-1));
    expect(manager.peekCredentials()).toBeUndefined();
    expect(manager.status().state).toBe("expired");

    // Retries go on for an hour; the expiry is not announced again.
    const failuresBefore = events.refreshFailed.length;
    await clock.advance(60 * MINUTE);
    expect(events.refreshFailed.length).toBeGreaterThan(failuresBefore + 100);
    expect(events.expired).toHaveLength(1);
    expect(manager.peekCredentials()).toBeUndefined();
    expect(manager.status().state).toBe("expired");
    await manager.dispose();
  });

  test("getCredentials() waits for the next attempt and rejects with CredentialsExpiredError (cause: its fetch error) when it fails", async () => {
    const { clock, source, manager, events, errors, first } = await setup();
    await clock.advanceTo(first.expiresAt + 10 * SECOND);

    const next = manager.status().nextRefreshAt!;
    expect(next).toBeGreaterThan(clock.now());
    const calls = source.calls.length;
    const callers = Array.from({ length: 50 }, () => track(manager.getCredentials()));

    await clock.advanceTo(next - 1);
    expect(callers.some((c) => c.settled)).toBe(false);
    expect(source.calls).toHaveLength(calls); // waiting joins the next attempt, starts none

    await clock.advanceTo(next);
    expect(source.calls).toHaveLength(calls + 1);
    const failure = events.refreshFailed.at(-1)!;
    expect(failure).toBeInstanceOf(CredentialsFetchError);
    expect(failure.cause).toBe(errors.at(-1));
    expect(manager.status().lastError).toBe(failure);
    for (const caller of callers) {
      expect(caller.settled).toBe(true);
      expect(caller.error).toBeInstanceOf(CredentialsExpiredError);
      expect((caller.error as Error).cause).toBe(failure);
    }
    await manager.dispose();
  });

  test("getCredentials() resolves with the new credentials when the next attempt succeeds", async () => {
    const { clock, manager, events, first, recover } = await setup();
    await clock.advanceTo(first.expiresAt + 10 * SECOND);

    const next = manager.status().nextRefreshAt!;
    const caller = track(manager.getCredentials());
    recover();
    await clock.advanceTo(next);
    expect(caller.settled).toBe(true);
    expect(caller.error).toBeUndefined();
    expect(caller.value?.password).not.toBe(first.password);
    expect(caller.value?.expiresAt).toBe(next + 5 * MINUTE);
    expect(manager.peekCredentials()).toBe(caller.value);
    expect(manager.status().state).toBe("ready");
    expect(events.recovered).toHaveLength(1);
    await manager.dispose();
  });
});

describe("waiting is bounded by an AbortSignal", () => {
  test("aborting rejects with the signal's reason, without disturbing other callers", async () => {
    const { clock, manager, first, recover } = await setup();
    await clock.advanceTo(first.expiresAt + 10 * SECOND);
    const next = manager.status().nextRefreshAt!;

    const controller = new AbortController();
    const bounded = track(manager.getCredentials({ signal: controller.signal }));
    const patient = track(manager.getCredentials());
    const defaultReason = new AbortController();
    const bounded2 = track(manager.getCredentials({ signal: defaultReason.signal }));
    await clock.advance(0);
    expect(bounded.settled).toBe(false);

    const reason = new Error("request deadline exceeded");
    controller.abort(reason);
    defaultReason.abort();
    await clock.advance(0);
    expect(bounded.settled).toBe(true);
    expect(bounded.error).toBe(reason);
    expect(bounded2.error).toBe(defaultReason.signal.reason);
    expect((bounded2.error as Error).name).toBe("AbortError");
    expect(patient.settled).toBe(false);

    recover();
    await clock.advanceTo(next);
    expect(patient.value?.password).toBeDefined();
    expect(bounded.error).toBe(reason); // a late success does not change what the caller saw
    await manager.dispose();
  });

  test("a signal already aborted rejects at once and starts no fetch", async () => {
    const { clock, source, manager, first } = await setup();
    await clock.advanceTo(first.expiresAt + 10 * SECOND);
    const calls = source.calls.length;
    const reason = new Error("already cancelled");
    await expect(manager.getCredentials({ signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    expect(source.calls).toHaveLength(calls);
    await manager.dispose();
  });

  test("a wait that ends normally removes its abort listener from the signal", async () => {
    const { clock, manager, first } = await setup();
    await clock.advanceTo(first.expiresAt + 10 * SECOND);

    // One long-lived signal (a server's shutdown signal, say) used for many waits.
    const shutdown = new AbortController();
    setMaxListeners(100, shutdown.signal);
    const waits = Array.from({ length: 20 }, () =>
      manager.getCredentials({ signal: shutdown.signal }).catch((e: unknown) => e),
    );
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(20);
    await clock.advanceTo(manager.status().nextRefreshAt!);
    const outcomes = await Promise.all(waits);
    expect(outcomes.every((e) => e instanceof CredentialsExpiredError)).toBe(true);
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
    await manager.dispose();
  });

  test("an aborted wait is forgotten by the manager (no leaked waiter)", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const { clock, manager, first } = await setup();
    await clock.advanceTo(first.expiresAt + 10 * SECOND);
    const next = manager.status().nextRefreshAt!;

    // 200 callers give up before the next attempt; if the manager still held their waiters,
    // it would keep every signal (and whatever the caller attached to it) alive.
    const signals: WeakRef<AbortSignal>[] = [];
    for (let i = 0; i < 200; i++) {
      const controller = new AbortController();
      signals.push(new WeakRef(controller.signal));
      const wait = manager.getCredentials({ signal: controller.signal });
      controller.abort(new Error("gave up"));
      await expect(wait).rejects.toThrow("gave up");
    }
    expect(clock.now()).toBeLessThan(next);
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    const alive = signals.filter((ref) => ref.deref() !== undefined).length;
    expect(alive).toBeLessThanOrEqual(10);
    await manager.dispose();
  });
});
