import {
  CredentialsExpiredError,
  CredentialsFetchError,
  createTokenManager,
  markPermanent,
  type RedisCredentials,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, gaps, recordEvents, scriptedSource } from "../helpers";
import { HOUR, MINUTE, SECOND } from "../sources";

/**
 * A source whose first fetch succeeds; every later one fails with a fresh error (kept in
 * `errors`, by call number) until `recover()` is called.
 */
function flakySource(clock: FakeClock, lifetimeMs: number) {
  const errors = new Map<number, Error>();
  let healthy = false;
  const source = scriptedSource(clock, (call) => {
    if (call.n === 1 || healthy) return credentialsFor(clock, lifetimeMs, `token-${call.n}`);
    const error = new Error(`identity provider unavailable (call ${call.n})`);
    errors.set(call.n, error);
    return Promise.reject(error);
  });
  return {
    source,
    errors,
    recover() {
      healthy = true;
    },
  };
}

/** Says whether `promise` has settled (without waiting for it). */
async function settled(clock: FakeClock, promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await clock.advance(0);
  return done;
}

describe("retry after a failed refresh", () => {
  test("backs off exponentially with full jitter up to maxDelayMs, and never gives up", async () => {
    const clock = new FakeClock();
    const { source, errors } = flakySource(clock, 5 * MINUTE);
    const retry = { initialDelayMs: 100, maxDelayMs: 5 * SECOND, multiplier: 3 };
    const manager = createTokenManager(source, { clock, retry });
    const events = recordEvents(manager);
    const first = await manager.getCredentials();

    // Well past the expiry (5 min) of the only credentials the source ever gave.
    await clock.advance(30 * MINUTE);
    expect(first.expiresAt).toBeLessThan(clock.now());

    const failing = source.calls.slice(1);
    expect(failing.length).toBeGreaterThanOrEqual(200);
    expect(failing[0]?.reason).toBe("scheduled");
    expect(failing.slice(1).every((call) => call.reason === "retry")).toBe(true);

    // Attempt n (from 0) waits within [initialDelayMs, min(maxDelayMs, initialDelayMs × 3^(n+1))].
    const waits = gaps(failing.map((call) => call.at));
    waits.forEach((wait, n) => {
      const ceiling = Math.min(
        retry.maxDelayMs,
        retry.initialDelayMs * retry.multiplier ** (n + 1),
      );
      expect(wait).toBeGreaterThanOrEqual(retry.initialDelayMs);
      expect(wait).toBeLessThanOrEqual(ceiling + 1e-6);
    });
    // Full jitter: once at the cap, waits spread over the whole range, not bunched at its top.
    const capped = waits.slice(5);
    expect(Math.min(...capped)).toBeLessThan(0.25 * retry.maxDelayMs);
    expect(Math.max(...capped)).toBeGreaterThan(0.75 * retry.maxDelayMs);
    // Still trying at the end, at the capped pace.
    expect(clock.now() - failing.at(-1)!.at).toBeLessThanOrEqual(retry.maxDelayMs);
    expect(manager.status().nextRefreshAt).toBeDefined();

    // One refreshFailed per failed attempt, carrying the source's error as the cause.
    expect(events.refreshFailed).toHaveLength(failing.length);
    events.refreshFailed.forEach((error, i) => {
      expect(error).toBeInstanceOf(CredentialsFetchError);
      expect(error.cause).toBe(errors.get(failing[i]!.n));
    });
    expect(manager.status().counters.failures).toBe(failing.length);
    expect(manager.status().lastError).toBe(events.refreshFailed.at(-1));
    await manager.dispose();
  });

  test("with default options the first waits are short and the cap is 30 s", async () => {
    const clock = new FakeClock();
    const { source } = flakySource(clock, HOUR);
    const manager = createTokenManager(source, { clock });
    manager.on("refreshFailed", () => {});
    await manager.getCredentials();
    await clock.advance(3 * HOUR);

    const waits = gaps(source.calls.slice(1).map((call) => call.at));
    expect(waits.length).toBeGreaterThan(100);
    waits.forEach((wait, n) => {
      expect(wait).toBeGreaterThanOrEqual(250);
      expect(wait).toBeLessThanOrEqual(Math.min(30 * SECOND, 250 * 2 ** (n + 1)) + 1e-6);
    });
    expect(Math.max(...waits)).toBeGreaterThan(25 * SECOND);
    await manager.dispose();
  });

  test("callers keep getting the still-valid credentials, with no error, while refreshes fail", async () => {
    const clock = new FakeClock();
    const { source } = flakySource(clock, HOUR);
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const first = await manager.getCredentials();

    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(source.calls).toHaveLength(2);
    while (clock.now() < first.expiresAt - 30 * SECOND) {
      const pending = manager.getCredentials();
      expect(await settled(clock, pending)).toBe(true);
      await expect(pending).resolves.toBe(first);
      expect(manager.peekCredentials()).toBe(first);
      expect(manager.status().state).toBe("ready");
      await clock.advance(30 * SECOND);
    }
    expect(events.refreshFailed.length).toBeGreaterThan(10);
    expect(manager.status().lastError).toBeInstanceOf(CredentialsFetchError);
    expect(events.expired).toHaveLength(0);
    await manager.dispose();
  });

  test("the first success after expiry emits `recovered` once, and getCredentials() resolves again", async () => {
    const clock = new FakeClock();
    const { source, recover } = flakySource(clock, 5 * MINUTE);
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const first = await manager.getCredentials();

    await clock.advanceTo(first.expiresAt + 2 * MINUTE);
    expect(events.expired).toHaveLength(1);
    expect(events.recovered).toHaveLength(0);
    expect(manager.status().state).toBe("expired");

    recover();
    const waiting = manager.getCredentials();
    await clock.advance(30 * SECOND); // the longest backoff
    const fresh = await waiting;
    expect(fresh.password).toBe(`token-${source.calls.length}`);
    expect(fresh.expiresAt).toBeGreaterThan(clock.now());
    expect(manager.peekCredentials()).toBe(fresh);
    expect(manager.status().state).toBe("ready");

    expect(events.recovered).toHaveLength(1);
    const recoveredAt = source.calls.at(-1)!.at;
    expect(events.recovered[0]).toEqual({
      source: source.name,
      downtimeMs: recoveredAt - first.expiresAt,
    });
    expect(events.refreshed.at(-1)?.username).toBe(fresh.username);

    // Later scheduled refreshes are plain refreshes, not recoveries.
    await clock.advance(HOUR);
    expect(events.refreshed.length).toBeGreaterThan(3);
    expect(events.recovered).toHaveLength(1);
    expect(events.expired).toHaveLength(1);
    await manager.dispose();
  });
});

describe("errors that are not retried", () => {
  test("a permanent error stops the retry loop; the held credentials are served until they expire", async () => {
    const clock = new FakeClock();
    const permanent = markPermanent(new Error("the identity is not a Redis user"));
    const source = scriptedSource(clock, (call) => {
      if (call.n === 1) return credentialsFor(clock, HOUR, "token-1");
      throw permanent;
    });
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);
    const first = await manager.getCredentials();

    await clock.advanceTo(first.expiresAt - 1);
    expect(source.calls).toHaveLength(2);
    expect(events.refreshFailed).toHaveLength(1);
    expect(events.refreshFailed[0]?.cause).toBe(permanent);
    expect(manager.status().nextRefreshAt).toBeUndefined();
    await expect(manager.getCredentials()).resolves.toBe(first);
    expect(manager.peekCredentials()).toBe(first);

    await clock.advance(1);
    expect(events.expired).toHaveLength(1);
    expect(manager.peekCredentials()).toBeUndefined();
    await clock.advance(HOUR);
    expect(source.calls).toHaveLength(2);

    // Once expired, a caller starts a new attempt, and learns why it failed.
    const error = await manager.getCredentials().catch((e: unknown) => e);
    expect(source.calls).toHaveLength(3);
    expect(error).toBeInstanceOf(CredentialsExpiredError);
    expect((error as Error).cause).toBeInstanceOf(CredentialsFetchError);
    expect(((error as Error).cause as Error).cause).toBe(permanent);
    await manager.dispose();
  });

  test("a custom retry.isRetryable is honoured both ways", async () => {
    const clock = new FakeClock();
    const seen: unknown[] = [];
    const answers: (() => RedisCredentials)[] = [
      () => credentialsFor(clock, HOUR, "token-1"),
      () => {
        throw new Error("transient: 503");
      },
      () => {
        // Marked permanent, but the custom predicate says otherwise.
        throw markPermanent(new Error("transient: throttled"));
      },
      () => {
        throw new Error("fatal: bad client secret");
      },
    ];
    const source = scriptedSource(clock, (call) => answers[call.n - 1]!());
    const manager = createTokenManager(source, {
      clock,
      retry: {
        isRetryable: (error) => {
          seen.push(error);
          return !(error instanceof Error && error.message.startsWith("fatal"));
        },
      },
    });
    const events = recordEvents(manager);
    await manager.getCredentials();

    await clock.advance(HOUR - 1);
    expect(source.calls).toHaveLength(4);
    expect(events.refreshFailed).toHaveLength(3);
    // The predicate sees the source's own errors.
    expect(seen).toEqual(events.refreshFailed.map((e) => e.cause));
    expect(manager.status().nextRefreshAt).toBeUndefined();
    await manager.dispose();
  });

  test("a throwing retry.isRetryable does not stop the refresh loop", async () => {
    const clock = new FakeClock();
    const { source } = flakySource(clock, HOUR);
    const manager = createTokenManager(source, {
      clock,
      retry: {
        isRetryable: () => {
          throw new Error("broken predicate");
        },
      },
    });
    manager.on("refreshFailed", () => {});
    await manager.getCredentials();
    await clock.advance(HOUR);
    expect(source.calls.length).toBeGreaterThan(20);
    expect(manager.status().nextRefreshAt).toBeDefined();
    await manager.dispose();
  });
});
