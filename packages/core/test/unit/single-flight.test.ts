import { createTokenManager, type RedisCredentials } from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, deferred, scriptedSource } from "../helpers";
import { HOUR } from "../sources";

describe("single flight and cache", () => {
  test("1,000 concurrent getCredentials() before the first fetch resolves share one fetch", async () => {
    const clock = new FakeClock();
    const answer = deferred<RedisCredentials>();
    const source = scriptedSource(clock, () => answer.promise);
    const manager = createTokenManager(source, { clock });

    expect(manager.status().state).toBe("idle");
    expect(manager.status().counters.fetches).toBe(0);

    const callers = Array.from({ length: 1_000 }, () => manager.getCredentials());
    await clock.advance(0);

    expect(source.calls).toHaveLength(1);
    expect(source.calls[0]?.reason).toBe("initial");
    expect(manager.status().state).toBe("acquiring");
    expect(manager.status().counters.fetches).toBe(1);
    expect(manager.peekCredentials()).toBeUndefined();

    answer.resolve(credentialsFor(clock, HOUR, "token-1"));
    const results = await Promise.all(callers);

    expect(source.calls).toHaveLength(1);
    const first = results[0]!;
    expect(first.password).toBe("token-1");
    expect(first.username).toBe("app-user");
    // Every caller got the very same credentials object.
    expect(results.every((c) => c === first)).toBe(true);
    expect(manager.peekCredentials()).toBe(first);

    const status = manager.status();
    expect(status.state).toBe("ready");
    expect(status.expiresAt).toBe(clock.now() + HOUR);
    expect(status.counters).toEqual({ fetches: 1, failures: 0, refreshes: 1, subscribers: 0 });
    await manager.dispose();
  });

  test("while the credentials are valid, getCredentials() makes no fetch", async () => {
    const clock = new FakeClock();
    let n = 0;
    const source = scriptedSource(clock, async () => credentialsFor(clock, HOUR, `token-${++n}`));
    const manager = createTokenManager(source, { clock });

    const first = await manager.getCredentials();
    const refreshAt = manager.status().nextRefreshAt!;
    expect(refreshAt).toBeGreaterThan(clock.now());

    // Ask again and again over the whole time before the scheduled refresh.
    const step = (refreshAt - 1 - clock.now()) / 50;
    for (let i = 0; i < 50; i++) {
      await clock.advance(step);
      const again = await Promise.all(Array.from({ length: 20 }, () => manager.getCredentials()));
      expect(again.every((c) => c === first)).toBe(true);
      expect(manager.peekCredentials()).toBe(first);
    }
    expect(clock.now()).toBeLessThan(refreshAt);
    expect(source.calls).toHaveLength(1);
    expect(manager.status().counters.fetches).toBe(1);
    expect(manager.status().state).toBe("ready");

    // The scheduled refresh is the next fetch, and it is the only one.
    await clock.advanceTo(refreshAt);
    expect(source.calls).toHaveLength(2);
    expect(source.calls[1]?.reason).toBe("scheduled");
    const second = await manager.getCredentials();
    expect(second.password).toBe("token-2");
    expect(manager.status().counters).toEqual({
      fetches: 2,
      failures: 0,
      refreshes: 2,
      subscribers: 0,
    });
    await manager.dispose();
  });

  test("callers arriving while a scheduled refresh is in flight get the still-valid credentials at once", async () => {
    const clock = new FakeClock();
    const second = deferred<RedisCredentials>();
    const source = scriptedSource(clock, (call) =>
      call.n === 1 ? credentialsFor(clock, HOUR, "token-1") : second.promise,
    );
    const manager = createTokenManager(source, { clock });
    const first = await manager.getCredentials();

    await clock.advanceTo(manager.status().nextRefreshAt!);
    expect(source.calls).toHaveLength(2);

    const during = await Promise.all(Array.from({ length: 100 }, () => manager.getCredentials()));
    expect(during.every((c) => c === first)).toBe(true);
    expect(source.calls).toHaveLength(2);

    second.resolve(credentialsFor(clock, HOUR, "token-2"));
    await clock.advance(0);
    expect((await manager.getCredentials()).password).toBe("token-2");
    expect(source.calls).toHaveLength(2);
    await manager.dispose();
  });
});
