import {
  CredentialSourceError,
  CredentialsFetchError,
  createTokenManager,
  parseRetryAfter,
  retryAfterOf,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, scriptedSource } from "../helpers";
import { MINUTE, SECOND } from "../sources";

/** An error as a throttled identity provider's 429 surfaces, with what the source read. */
function throttled(retryAfterMs: unknown): Error {
  return Object.assign(new Error("429 Too Many Requests"), { status: 429, retryAfterMs });
}

/**
 * A manager whose source succeeds once (a 10-minute token), then fails with `failures` in
 * turn, then succeeds again. Jitter is pinned to the floor so that the backoff is 250 ms.
 */
async function managerFailingWith(failures: unknown[], lifetimeMs = 10 * MINUTE) {
  jest.spyOn(Math, "random").mockReturnValue(0);
  const clock = new FakeClock();
  const source = scriptedSource(clock, (call) => {
    const failure = failures[call.n - 2];
    if (call.n === 1 || failure === undefined) {
      return credentialsFor(clock, lifetimeMs, `token-${call.n}`);
    }
    return Promise.reject(failure);
  });
  const manager = createTokenManager(source, {
    clock,
    refreshJitterMs: 0,
    retry: { initialDelayMs: 250, maxDelayMs: 2 * SECOND },
  });
  await manager.getCredentials();
  return { clock, source, manager };
}

afterEach(() => jest.restoreAllMocks());

describe("Retry-After: a failed attempt's retryAfterMs", () => {
  test("a 429 asking for 7 s: the next attempt comes at 7 s, not after the 250 ms backoff", async () => {
    const { clock, source, manager } = await managerFailingWith([throttled(7_000)]);
    const firstRefresh = manager.status().nextRefreshAt!;
    await clock.advanceTo(firstRefresh);
    expect(source.calls).toHaveLength(2);
    // Above maxDelayMs (2 s) too: the server's wait is not capped by the manager's own.
    expect(manager.status().nextRefreshAt).toBe(firstRefresh + 7_000);
    await clock.advance(6_999);
    expect(source.calls).toHaveLength(2);
    await clock.advance(1);
    expect(source.calls).toHaveLength(3);
    expect(source.calls[2]?.reason).toBe("retry");
    expect(manager.peekCredentials()?.password).toBe("token-3");
    await manager.dispose();
  });

  test("found through the cause chain, as a source wrapping the library's error leaves it", async () => {
    const wrapped = new CredentialsFetchError("s", "failed", { cause: throttled(3_000) });
    const { clock, source, manager } = await managerFailingWith([wrapped]);
    await clock.advanceTo(manager.status().nextRefreshAt!);
    const failedAt = source.calls[1]!.at;
    expect(manager.status().nextRefreshAt).toBe(failedAt + 3_000);
    await manager.dispose();
  });

  test("a wait shorter than the backoff changes nothing: the longer of the two wins", async () => {
    const { clock, source, manager } = await managerFailingWith([throttled(10)]);
    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(manager.status().nextRefreshAt).toBe(source.calls[1]!.at + 250);
    await manager.dispose();
  });

  test.each([
    ["NaN", Number.NaN],
    ["negative", -5_000],
    ["a string", "7000"],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["null", null],
  ])("garbage (%s) is ignored: the usual 250 ms backoff", async (_, value) => {
    const { clock, source, manager } = await managerFailingWith([throttled(value)]);
    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(manager.status().nextRefreshAt).toBe(source.calls[1]!.at + 250);
    await clock.advance(250);
    expect(source.calls).toHaveLength(3);
    await manager.dispose();
  });

  test("honoured past the held token's expiry: it expires on time, and callers share the one attempt", async () => {
    const lifetimeMs = 10 * SECOND;
    const { clock, source, manager } = await managerFailingWith([throttled(MINUTE)], lifetimeMs);
    const expired = jest.fn();
    manager.on("expired", expired);
    await clock.advanceTo(manager.status().nextRefreshAt!);
    const retryAt = manager.status().nextRefreshAt!;
    expect(retryAt - clock.now()).toBe(MINUTE);

    // A forced refresh during the wait neither calls the source nor waits: the held token.
    await expect(manager.refresh()).resolves.toMatchObject({ password: "token-1" });
    expect(source.calls).toHaveLength(2);

    await clock.advance(lifetimeMs);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(manager.status().state).toBe("expired");
    // With nothing valid, a forced refresh rejects at once with the throttling failure.
    await expect(manager.refresh()).rejects.toBeInstanceOf(CredentialsFetchError);

    // Single flight: many callers waiting, one attempt when the wait is over.
    const waiting = Array.from({ length: 5 }, () => manager.getCredentials());
    await clock.advanceTo(retryAt);
    const answers = await Promise.all(waiting);
    expect(new Set(answers.map((c) => c.password))).toEqual(new Set(["token-3"]));
    expect(source.calls).toHaveLength(3);
    await manager.dispose();
  });
});

describe("retryAfterOf and parseRetryAfter", () => {
  test("CredentialSourceError carries retryAfterMs from its details", () => {
    const error = new CredentialSourceError("throttled", {
      code: "throttled",
      retryable: true,
      status: 429,
      retryAfterMs: 1_500,
    });
    expect(error.retryAfterMs).toBe(1_500);
    expect(retryAfterOf(error)).toBe(1_500);
    expect(retryAfterOf(new Error("x"))).toBeUndefined();
    expect(retryAfterOf("429")).toBeUndefined();
  });

  test("reads delta-seconds and HTTP-dates relative to the given clock", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter(["3", "9"], now)).toBe(3_000);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", now)).toBe(30_000);
    // A date already past: try again now.
    expect(parseRetryAfter("Tue, 31 Dec 2024 23:59:00 GMT", now)).toBe(0);
    for (const garbage of ["-1", "1.5", "soon", "", undefined, null, "99999999999999"]) {
      expect(parseRetryAfter(garbage, now)).toBeUndefined();
    }
  });
});
