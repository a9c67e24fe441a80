import { CredentialsFetchError, createTokenManager, type RedisCredentials } from "../../src";
import { FakeClock } from "../fake-clock";
import {
  credentialsFor,
  type Deferred,
  deferred,
  gaps,
  recordEvents,
  scriptedSource,
} from "../helpers";
import { HOUR, MINUTE, SECOND } from "../sources";

/** A source whose calls listed in `hang` never settle on their own (the test may settle them). */
function hangingSource(clock: FakeClock, hang: (n: number) => boolean) {
  const pending = new Map<number, Deferred<RedisCredentials>>();
  const source = scriptedSource(clock, (call) => {
    if (!hang(call.n)) return credentialsFor(clock, HOUR, `token-${call.n}`);
    const answer = deferred<RedisCredentials>();
    pending.set(call.n, answer);
    return answer.promise;
  });
  return { source, pending };
}

describe("a fetch that never settles", () => {
  test("is aborted through its signal after fetchTimeoutMs, counted as failed, and retried", async () => {
    const clock = new FakeClock();
    const { source } = hangingSource(clock, (n) => n === 2);
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const first = await manager.getCredentials();

    const refreshAt = manager.status().nextRefreshAt!;
    await clock.advanceTo(refreshAt);
    expect(source.calls).toHaveLength(2);
    const { signal } = source.calls[1]!;

    await clock.advanceTo(refreshAt + 10 * SECOND - 1);
    expect(signal.aborted).toBe(false);
    expect(events.refreshFailed).toHaveLength(0);

    await clock.advanceTo(refreshAt + 10 * SECOND);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(CredentialsFetchError);
    expect(signal.reason.message).toContain("fetchTimeoutMs");
    expect(events.refreshFailed).toEqual([signal.reason]);
    expect(manager.status().counters.failures).toBe(1);
    expect(manager.status().lastError).toBe(signal.reason);
    // The held credentials stay in service.
    await expect(manager.getCredentials()).resolves.toBe(first);

    // Retried after the first backoff step, [250, 500] ms.
    const retryAt = manager.status().nextRefreshAt!;
    expect(retryAt - clock.now()).toBeGreaterThanOrEqual(250);
    expect(retryAt - clock.now()).toBeLessThanOrEqual(500);
    await clock.advanceTo(retryAt);
    expect(source.calls).toHaveLength(3);
    expect(source.calls[2]?.reason).toBe("retry");
    expect(manager.peekCredentials()?.password).toBe("token-3");
    expect(events.refreshed).toHaveLength(2);
    await manager.dispose();
  });

  test("a late answer from the aborted attempt is ignored", async () => {
    const clock = new FakeClock();
    const { source, pending } = hangingSource(clock, (n) => n === 2);
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const heard: string[] = [];
    manager.subscribe((c) => {
      heard.push(c.password);
    });
    await manager.getCredentials();
    await clock.advanceTo(manager.status().nextRefreshAt!);
    await clock.advance(10 * SECOND);
    expect(source.calls[1]?.signal.aborted).toBe(true);

    // Retry succeeds, then the hung attempt finally answers.
    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(manager.peekCredentials()?.password).toBe("token-3");
    const status = manager.status();
    pending.get(2)!.resolve(credentialsFor(clock, 2 * HOUR, "late-token"));
    await clock.advance(10 * SECOND);

    expect(manager.peekCredentials()?.password).toBe("token-3");
    expect(manager.status().counters).toEqual(status.counters);
    expect(manager.status().nextRefreshAt).toBe(status.nextRefreshAt);
    expect(events.refreshed).toHaveLength(2);
    expect(heard).toEqual(["token-3"]);
    await manager.dispose();
  });

  test("a hung first fetch rejects its callers after fetchTimeoutMs; its late answer is ignored", async () => {
    const clock = new FakeClock();
    const { source, pending } = hangingSource(clock, (n) => n === 1);
    const manager = createTokenManager(source, { clock, fetchTimeoutMs: 2 * SECOND });
    const events = recordEvents(manager);
    const outcomes: PromiseSettledResult<RedisCredentials>[] = [];
    const callers = Array.from({ length: 100 }, () => manager.getCredentials());
    void Promise.allSettled(callers).then((results) => outcomes.push(...results));

    await clock.advance(2 * SECOND - 1);
    expect(outcomes).toHaveLength(0);
    expect(manager.status().state).toBe("acquiring");
    await clock.advance(1);

    const { signal } = source.calls[0]!;
    expect(signal.aborted).toBe(true);
    expect(outcomes).toHaveLength(100);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      expect((outcome as PromiseRejectedResult).reason).toBe(signal.reason);
    }
    expect(signal.reason).toBeInstanceOf(CredentialsFetchError);
    expect(events.refreshFailed).toEqual([signal.reason]);
    expect(manager.status().state).toBe("idle");
    expect(clock.pending).toBe(0);

    pending.get(1)!.resolve(credentialsFor(clock, HOUR, "late-token"));
    await clock.advance(MINUTE);
    expect(manager.peekCredentials()).toBeUndefined();
    expect(manager.status().state).toBe("idle");
    expect(manager.status().counters.refreshes).toBe(0);
    expect(events.refreshed).toHaveLength(0);
    expect(source.calls).toHaveLength(1);

    // The next caller starts a fresh attempt.
    await expect(manager.getCredentials()).resolves.toMatchObject({ username: "app-user" });
    expect(manager.peekCredentials()?.password).toBe("token-2");
    await manager.dispose();
  });

  test("a source that honours the signal and rejects is counted once", async () => {
    const clock = new FakeClock();
    const source = scriptedSource(clock, (call) => {
      if (call.n === 1) return credentialsFor(clock, HOUR, "token-1");
      return new Promise<never>((_resolve, reject) => {
        call.signal.addEventListener("abort", () => reject(call.signal.reason));
      });
    });
    const manager = createTokenManager(source, { clock, fetchTimeoutMs: 3 * SECOND });
    const events = recordEvents(manager);
    await manager.getCredentials();
    const refreshAt = manager.status().nextRefreshAt!;
    await clock.advanceTo(refreshAt + 3 * SECOND);
    expect(events.refreshFailed).toHaveLength(1);
    expect(manager.status().counters.failures).toBe(1);
    expect(source.calls[1]?.signal.reason).toBe(events.refreshFailed[0]);
    await manager.dispose();
  });

  test("attempts that keep hanging are each aborted and retried with backoff, without end", async () => {
    const clock = new FakeClock();
    const { source } = hangingSource(clock, (n) => n > 1);
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const first = await manager.getCredentials();
    await clock.advanceTo(first.expiresAt + HOUR);

    const hung = source.calls.slice(1);
    expect(hung.length).toBeGreaterThan(100);
    // Every attempt but the one still running was aborted by the timeout.
    expect(hung.slice(0, -1).every((call) => call.signal.aborted)).toBe(true);
    expect(events.refreshFailed).toHaveLength(hung.length - (hung.at(-1)!.signal.aborted ? 0 : 1));
    // Start to start: the 10 s timeout plus backoff attempt n.
    gaps(hung.map((call) => call.at)).forEach((gap, n) => {
      expect(gap).toBeGreaterThanOrEqual(10 * SECOND + 250);
      expect(gap).toBeLessThanOrEqual(10 * SECOND + Math.min(30 * SECOND, 250 * 2 ** (n + 1)));
    });
    expect(events.expired).toHaveLength(1);
    await manager.dispose();
  });
});
