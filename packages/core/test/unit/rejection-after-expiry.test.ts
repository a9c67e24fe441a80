import { CredentialsRejectedError, createRejectionTracker, createTokenManager } from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, scriptedSource } from "../helpers";
import { MINUTE, SECOND, settle } from "../sources";

const wrongpass = () => new Error("WRONGPASS invalid username-password pair or user is disabled.");

/**
 * The identity provider fails after the first token (living 10 s) until `recover()`: the token
 * expires during the outage, and Redis then refuses it, as it must.
 */
async function outage() {
  const clock = new FakeClock();
  let down = true;
  const source = scriptedSource(clock, (call) =>
    call.n === 1 || !down
      ? credentialsFor(clock, 10 * SECOND, `token-${call.n}`)
      : Promise.reject(new Error("identity provider unavailable")),
  );
  const manager = createTokenManager(source, { clock, minRefreshIntervalMs: 1 });
  const expired = jest.fn();
  manager.on("expired", expired);
  const tracker = createRejectionTracker(manager, { clock, initialDelayMs: 100 });
  const held = await manager.getCredentials();
  await clock.advance(11 * SECOND);
  expect(manager.peekCredentials()).toBeUndefined();
  expect(expired).toHaveBeenCalledTimes(1); // the lapse is reported, as an expiry
  return {
    clock,
    source,
    manager,
    tracker,
    held,
    recover() {
      down = false;
    },
  };
}

test("credentials refused after they expired in an outage: no CredentialsRejectedError, it waits for new ones", async () => {
  const { clock, manager, tracker, held, recover } = await outage();
  const outcomes = [0, 1, 2].map(() => settle(tracker.rejected(held, wrongpass())));
  await clock.advance(MINUTE); // retries keep failing meanwhile
  recover();
  await clock.advance(MINUTE);
  const results = await Promise.all(outcomes);
  // Each wait ends either with the fresh credentials or with the outage's error, never with the
  // claim that the identity is not a Redis user.
  for (const result of results) {
    if (result.ok) {
      expect(result.value.error).toBeUndefined();
      expect(result.value.credentials.password).not.toBe(held.password);
    } else {
      expect(result.error).not.toBeInstanceOf(CredentialsRejectedError);
    }
  }
  expect(tracker.consecutive).toBe(0);
  await manager.dispose();
});

test("once valid credentials are back, a refusal is counted again: forced refresh first, then the error", async () => {
  const { clock, source, manager, tracker, held, recover } = await outage();
  const during = settle(tracker.rejected(held, wrongpass()));
  recover();
  await clock.advance(MINUTE);
  expect((await during).ok).toBe(true);
  const fresh = manager.peekCredentials()!;
  expect(fresh).toBeDefined();

  const calls = source.calls.length;
  const first = await tracker.rejected(fresh, wrongpass());
  expect(first.error).toBeUndefined();
  expect(source.calls.length).toBe(calls + 1);
  expect(source.calls.at(-1)?.reason).toBe("forced");

  const second = tracker.rejected(first.credentials, wrongpass());
  await clock.advance(MINUTE);
  expect((await second).error).toBeInstanceOf(CredentialsRejectedError);
  await manager.dispose();
});
