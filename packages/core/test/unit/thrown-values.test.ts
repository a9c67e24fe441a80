import { CredentialsFetchError, createTokenManager, markPermanent } from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, recordEvents, scriptedSource } from "../helpers";
import { SECOND, settle } from "../sources";

/**
 * Values a source, a subscriber or an event handler can throw that cannot be turned into a
 * string: describing one for a message must not throw inside the manager.
 */
function hostileValues(): [string, () => unknown][] {
  return [
    ["a null-prototype object", () => Object.create(null)],
    ["a symbol", () => Symbol("boom")],
    [
      "an object whose toString and Symbol.toPrimitive throw",
      () => ({
        toString() {
          throw new Error("toString");
        },
        [Symbol.toPrimitive]() {
          throw new Error("toPrimitive");
        },
      }),
    ],
    [
      "a revoked proxy",
      () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      },
    ],
  ];
}

/** Fails the test on any unhandled rejection while `run` runs. */
async function withoutUnhandledRejections(run: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  expect(unhandled).toEqual([]);
}

describe.each(hostileValues())("a source that throws %s", (_label, make) => {
  test("is retried like any failure; waiting callers settle; no unhandled rejection", async () => {
    await withoutUnhandledRejections(async () => {
      const clock = new FakeClock();
      let failing = false;
      const source = scriptedSource(clock, (call) => {
        if (failing) throw make();
        return credentialsFor(clock, 10 * SECOND, `token-${call.n}`);
      });
      const manager = createTokenManager(source, {
        clock,
        refreshBeforeExpiryMs: 2 * SECOND,
        minRefreshIntervalMs: SECOND,
      });
      const events = recordEvents(manager);
      await manager.getCredentials();
      failing = true;
      await clock.advance(8 * SECOND); // the scheduled refresh fails with the hostile value

      expect(events.refreshFailed.length).toBeGreaterThan(0);
      const failure = events.refreshFailed[0]!;
      expect(failure).toBeInstanceOf(CredentialsFetchError);
      expect(failure.message).toMatch(
        /failed to fetch credentials \(scheduled\): a non-Error value: /,
      );
      // The retry loop goes on.
      expect(manager.status().nextRefreshAt).toBeGreaterThan(clock.now());

      const forced = settle(manager.refresh());
      await clock.advance(0);
      const outcome = await forced;
      expect(outcome.ok).toBe(false);

      failing = false;
      await clock.advance(20 * SECOND); // expired meanwhile; the retries recover
      const waited = settle(manager.getCredentials());
      await clock.advance(SECOND);
      expect((await waited).ok).toBe(true);
      await manager.dispose();
    });
  });

  test("as a subscriber or event handler: reported on subscriberError, the others still run", async () => {
    await withoutUnhandledRejections(async () => {
      const clock = new FakeClock();
      const source = scriptedSource(clock, (call) =>
        credentialsFor(clock, 60 * SECOND, `token-${call.n}`),
      );
      const manager = createTokenManager(source, { clock, reauthSpreadMs: 0 });
      const reported: unknown[] = [];
      manager.on("subscriberError", (error) => reported.push(error));
      manager.on("refreshed", () => {
        throw make();
      });
      const heard: string[] = [];
      manager.subscribe(() => {
        throw make();
      });
      manager.subscribe(() => Promise.reject(make()));
      manager.subscribe((credentials) => {
        heard.push(credentials.password);
      });
      await manager.getCredentials();
      await manager.refresh();
      await clock.advance(0);

      expect(heard).toEqual(["token-2"]);
      // Two refreshed handlers' throws (first and forced fetch) and two subscribers.
      expect(reported).toHaveLength(4);
      await manager.dispose();
    });
  });
});

test("a non-Error failure reads as what it is, not [object Object]", async () => {
  const clock = new FakeClock();
  const answers: unknown[] = [{ code: 500 }, undefined, "service unavailable"];
  const source = scriptedSource(clock, (call) => {
    throw answers[call.n - 1];
  });
  const manager = createTokenManager(source, { clock });
  const messages: string[] = [];
  for (let i = 0; i < answers.length; i++) {
    const outcome = await settle(manager.getCredentials());
    if (!outcome.ok) messages.push((outcome.error as Error).message);
  }
  expect(messages).toEqual([
    'Credential source "test-source" failed to fetch credentials (initial): a non-Error value: { code: 500 }',
    'Credential source "test-source" failed to fetch credentials (initial): a non-Error value: undefined',
    'Credential source "test-source" failed to fetch credentials (initial): a non-Error value: "service unavailable"',
  ]);
  await manager.dispose();
});

test("markPermanent of a value that cannot be turned into a string still marks it", () => {
  const marked = markPermanent(Object.create(null));
  expect(marked.message).toBe("Permanent failure: a non-Error value: [Object: null prototype] {}");
});
