import { type CredentialSource, CredentialsFetchError, createTokenManager } from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, deferred, recordEvents, scriptedSource } from "../helpers";
import { HOUR } from "../sources";

/** Settles `promises` if they settle once pending jobs and due timers have run; never hangs. */
async function settleAll<T>(clock: FakeClock, promises: Promise<T>[]) {
  let outcomes: PromiseSettledResult<T>[] | undefined;
  void Promise.allSettled(promises).then((results) => {
    outcomes = results;
  });
  await clock.advance(0);
  return outcomes;
}

/** A manager whose source fails its first fetch with `error` and answers token-2 after. */
function failingOnce(error: Error) {
  const clock = new FakeClock();
  const source = scriptedSource(clock, (call) => {
    if (call.n === 1) return Promise.reject(error);
    return credentialsFor(clock, HOUR, "token-2");
  });
  const manager = createTokenManager(source, { clock });
  return { clock, source, manager };
}

describe("a failed first fetch", () => {
  test("rejects every waiting caller with CredentialsFetchError carrying the cause; none hangs", async () => {
    const clock = new FakeClock();
    const outage = new Error("AADSTS7000215: invalid client secret");
    const answer = deferred<never>();
    const source = scriptedSource(clock, () => answer.promise);
    const manager = createTokenManager(source, { clock });
    const events = recordEvents(manager);

    const callers = Array.from({ length: 500 }, () => manager.getCredentials());
    await clock.advance(0);
    expect(source.calls).toHaveLength(1);
    answer.reject(outage);

    const outcomes = await settleAll(clock, callers);
    expect(outcomes).toHaveLength(500);
    for (const outcome of outcomes!) {
      expect(outcome.status).toBe("rejected");
      const reason = (outcome as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(CredentialsFetchError);
      expect(reason.name).toBe("CredentialsFetchError");
      expect(reason.cause).toBe(outage);
      expect(reason.message).toContain(source.name);
    }
    expect(events.refreshFailed).toHaveLength(1);
    expect(events.refreshFailed[0]?.cause).toBe(outage);
    expect(events.expired).toHaveLength(0);
    await manager.dispose();
  });

  test("leaves the manager idle with no timer; the next getCredentials() starts an attempt that can succeed", async () => {
    const { clock, source, manager } = failingOnce(new Error("network unreachable"));
    const events = recordEvents(manager);

    await expect(manager.getCredentials()).rejects.toBeInstanceOf(CredentialsFetchError);
    const status = manager.status();
    expect(status.state).toBe("idle");
    expect(status.nextRefreshAt).toBeUndefined();
    expect(status.lastError).toBe(events.refreshFailed[0]);
    expect(status.counters).toEqual({ fetches: 1, failures: 1, refreshes: 0, subscribers: 0 });
    expect(clock.pending).toBe(0);
    expect(manager.peekCredentials()).toBeUndefined();

    // Nothing happens by itself.
    await clock.advance(HOUR);
    expect(source.calls).toHaveLength(1);

    const credentials = await manager.getCredentials();
    expect(source.calls).toHaveLength(2);
    expect(source.calls[1]?.reason).toBe("initial");
    expect(credentials.password).toBe("token-2");
    expect(manager.status().state).toBe("ready");
    expect(manager.status().lastError).toBeUndefined();
    expect(events.refreshed).toHaveLength(1);
    await manager.dispose();
  });

  test("after it, refresh() also starts a new attempt that can succeed", async () => {
    const { source, manager } = failingOnce(new Error("503"));
    manager.on("refreshFailed", () => {});

    await expect(manager.getCredentials()).rejects.toBeInstanceOf(CredentialsFetchError);
    const credentials = await manager.refresh();
    expect(credentials.password).toBe("token-2");
    expect(source.calls).toHaveLength(2);
    await expect(manager.getCredentials()).resolves.toBe(credentials);
    expect(source.calls).toHaveLength(2);
    await manager.dispose();
  });

  test("a failed retry fails its own callers too: failures do not pile up into a hang", async () => {
    const clock = new FakeClock();
    const source = scriptedSource(clock, (call) => Promise.reject(new Error(`down ${call.n}`)));
    const manager = createTokenManager(source, { clock });
    manager.on("refreshFailed", () => {});
    for (let round = 1; round <= 5; round++) {
      const outcomes = await settleAll(
        clock,
        Array.from({ length: 20 }, () => manager.getCredentials()),
      );
      expect(source.calls).toHaveLength(round);
      expect(outcomes).toHaveLength(20);
      for (const outcome of outcomes!) {
        expect(outcome.status).toBe("rejected");
        expect(((outcome as PromiseRejectedResult).reason as Error).cause).toEqual(
          new Error(`down ${round}`),
        );
      }
      expect(manager.status().state).toBe("idle");
    }
    await manager.dispose();
  });
});

describe("sources that break the contract", () => {
  test("a source that throws synchronously fails the attempt like a rejection", async () => {
    const clock = new FakeClock();
    const boom = new TypeError("cannot read properties of undefined");
    const source: CredentialSource = {
      name: "sync-thrower",
      fetch: () => {
        throw boom;
      },
    };
    const manager = createTokenManager(source, { clock });
    manager.on("refreshFailed", () => {});

    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = manager.getCredentials();
    }).not.toThrow();
    const error = await promise!.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsFetchError);
    expect((error as Error).cause).toBe(boom);
    expect(manager.status().state).toBe("idle");
    expect(clock.pending).toBe(0);
    await manager.dispose();
  });

  test("a source that returns credentials without a promise works", async () => {
    const clock = new FakeClock();
    const source = {
      name: "sync",
      fetch: () => credentialsFor(clock, HOUR, "plain"),
    } as unknown as CredentialSource;
    const manager = createTokenManager(source, { clock });
    const credentials = await manager.getCredentials();
    expect(credentials.password).toBe("plain");
    expect(manager.status().state).toBe("ready");
    expect(manager.status().nextRefreshAt).toBeDefined();
    await manager.dispose();
  });

  test("a source that rejects with a non-Error still yields a CredentialsFetchError", async () => {
    const clock = new FakeClock();
    const source: CredentialSource = {
      name: "string-rejecter",
      fetch: () => Promise.reject("HTTP 500"),
    };
    const manager = createTokenManager(source, { clock });
    manager.on("refreshFailed", () => {});
    const error = await manager.getCredentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsFetchError);
    expect((error as Error).cause).toBe("HTTP 500");
    await manager.dispose();
  });
});
