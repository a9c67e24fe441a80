import {
  CredentialsError,
  CredentialsRejectedError,
  createRejectionTracker,
  createTokenManager,
  isCredentialsRejection,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { countingSource, HOUR, MINUTE, SECOND, settle } from "../sources";

const wrongpass = new Error("WRONGPASS invalid username-password pair or user is disabled.");

async function setup(options: { initialDelayMs?: number; maxDelayMs?: number } = {}) {
  const clock = new FakeClock();
  const source = countingSource(clock, { lifetimeMs: HOUR });
  const manager = createTokenManager(source, { clock, minRefreshIntervalMs: 1 });
  const tracker = createRejectionTracker(manager, { clock, ...options });
  const held = await manager.getCredentials();
  return { clock, source, manager, tracker, held };
}

test("recognises WRONGPASS and NOAUTH replies, nothing else", () => {
  expect(isCredentialsRejection(wrongpass)).toBe(true);
  expect(isCredentialsRejection(new Error("NOAUTH Authentication required."))).toBe(true);
  expect(isCredentialsRejection(new Error("ERR unknown command"))).toBe(false);
  expect(isCredentialsRejection(new Error("Connection is closed."))).toBe(false);
  expect(isCredentialsRejection("WRONGPASS")).toBe(false);
});

test("the first rejection forces one refresh and answers with the fresh credentials, no error", async () => {
  const { source, manager, tracker, held } = await setup();
  const outcome = await tracker.rejected(held, wrongpass);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(source.fetch.mock.calls[1]?.[0].reason).toBe("forced");
  expect(outcome.credentials.password).toBe(source.password(2));
  expect(outcome.error).toBeUndefined();
  expect(tracker.consecutive).toBe(1);
  await manager.dispose();
});

test("100 connections rejected at once share one forced fetch", async () => {
  const { source, manager, held } = await setup();
  const trackers = Array.from({ length: 100 }, () => createRejectionTracker(manager));
  const outcomes = await Promise.all(trackers.map((t) => t.rejected(held, wrongpass)));
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(new Set(outcomes.map((o) => o.credentials.password))).toEqual(
    new Set([source.password(2)]),
  );
  await manager.dispose();
});

test("rejected credentials older than the manager's: retry with those, no refresh", async () => {
  const { source, manager, tracker, held } = await setup();
  await manager.refresh();
  const outcome = await tracker.rejected(held, wrongpass);
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(outcome.credentials.password).toBe(source.password(2));
  await manager.dispose();
});

test("when the fresh credentials are rejected too: one typed error, then a growing backoff, no fetch", async () => {
  const { clock, source, manager, tracker, held } = await setup({
    initialDelayMs: SECOND,
    maxDelayMs: 8 * SECOND,
  });
  const fresh = (await tracker.rejected(held, wrongpass)).credentials;

  const second = tracker.rejected(fresh, wrongpass);
  let settled = false;
  void second.then(() => {
    settled = true;
  });
  await clock.advance(SECOND - 1);
  expect(settled).toBe(false);
  await clock.advance(SECOND + 1);
  const outcome = await second;
  expect(outcome.error).toBeInstanceOf(CredentialsRejectedError);
  expect(outcome.error).toBeInstanceOf(CredentialsError);
  expect(outcome.error?.cause).toBe(wrongpass);
  expect(outcome.error?.message).toContain('user "user"');
  expect(outcome.error?.message).toContain("Redis user");
  expect(outcome.error?.message).not.toContain(fresh.password);

  // Later rejections in the same run: no second error, waits capped at maxDelayMs, no fetch.
  for (let i = 0; i < 6; i++) {
    let done = false;
    const next = tracker.rejected(fresh, wrongpass).then((later) => {
      done = true;
      return later;
    });
    await clock.advance(8 * SECOND);
    expect(done).toBe(true);
    expect((await next).error).toBeUndefined();
  }
  expect(source.fetch).toHaveBeenCalledTimes(2);
  expect(tracker.consecutive).toBe(8);
  await manager.dispose();
});

test("new credentials from the manager end a backoff wait early", async () => {
  const { clock, manager, tracker, held } = await setup({ initialDelayMs: MINUTE });
  const fresh = (await tracker.rejected(held, wrongpass)).credentials;
  const start = clock.now();
  const waiting = tracker.rejected(fresh, wrongpass);
  await clock.advance(SECOND);
  const newer = await manager.refresh();
  await clock.advance(10 * SECOND); // the fan-out's stagger
  const outcome = await waiting;
  expect(outcome.credentials.password).toBe(newer.password);
  expect(clock.now() - start).toBeLessThan(MINUTE);
  await manager.dispose();
});

test("accepted() ends the run: the next rejection forces a refresh again and the error is reported again", async () => {
  const { clock, source, manager, tracker, held } = await setup({ initialDelayMs: SECOND });
  const fresh = (await tracker.rejected(held, wrongpass)).credentials;
  const first = tracker.rejected(fresh, wrongpass);
  await clock.advance(2 * SECOND);
  expect((await first).error).toBeInstanceOf(CredentialsRejectedError);
  tracker.accepted();
  expect(tracker.consecutive).toBe(0);

  const current = manager.peekCredentials()!;
  await tracker.rejected(current, wrongpass);
  expect(source.fetch).toHaveBeenCalledTimes(3);
  const again = tracker.rejected(manager.peekCredentials()!, wrongpass);
  await clock.advance(2 * SECOND);
  expect((await again).error).toBeInstanceOf(CredentialsRejectedError);
  await manager.dispose();
});

test("an aborted signal ends the backoff wait with its reason and leaves no subscriber", async () => {
  const { clock, manager, tracker, held } = await setup({ initialDelayMs: MINUTE });
  const fresh = (await tracker.rejected(held, wrongpass)).credentials;
  const timersBefore = clock.pending;
  const controller = new AbortController();
  const waiting = settle(tracker.rejected(fresh, wrongpass, controller.signal));
  await clock.advance(SECOND);
  expect(manager.status().counters.subscribers).toBe(1);
  controller.abort(new Error("client closed"));
  const result = await waiting;
  expect(result.ok).toBe(false);
  expect((result as { error: Error }).error.message).toBe("client closed");
  expect(manager.status().counters.subscribers).toBe(0);
  expect(clock.pending).toBe(timersBefore);
  await manager.dispose();
});
