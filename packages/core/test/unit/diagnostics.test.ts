import diagnosticsChannel from "node:diagnostics_channel";
import util from "node:util";
import {
  createTokenManager,
  diagnosticsChannels,
  markPermanent,
  type RedisCredentials,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { HOUR, MINUTE, settle } from "../sources";

type Message = Record<string, unknown>;

/** Subscribes to every documented channel; `take(name)` returns and clears what arrived there. */
function listen() {
  const received = new Map<string, Message[]>();
  const history: Message[] = [];
  const handler = (message: unknown, name: string | symbol) => {
    history.push(message as Message);
    const list = received.get(String(name)) ?? [];
    list.push(message as Message);
    received.set(String(name), list);
  };
  for (const name of Object.values(diagnosticsChannels))
    diagnosticsChannel.subscribe(name, handler);
  return {
    /** Every message since listening began, taken or not. */
    all: () => [...history],
    take(name: string): Message[] {
      const list = received.get(name) ?? [];
      received.delete(name);
      return list;
    },
    close() {
      for (const name of Object.values(diagnosticsChannels))
        diagnosticsChannel.unsubscribe(name, handler);
    },
  };
}

const PASSWORD = "pAsSwOrD-only-in-credentials";

test("the channels are the documented ones, under the redis-credentials: prefix", () => {
  expect(diagnosticsChannels).toEqual({
    fetch: "redis-credentials:fetch",
    refreshed: "redis-credentials:refreshed",
    refreshFailed: "redis-credentials:refresh-failed",
    unchanged: "redis-credentials:unchanged",
    expired: "redis-credentials:expired",
    recovered: "redis-credentials:recovered",
    fanOut: "redis-credentials:fan-out",
    subscriberError: "redis-credentials:subscriber-error",
    reauth: "redis-credentials:reauth",
  });
});

test("every lifecycle step is published on its channel with the documented fields and no secret", async () => {
  const channels = listen();
  const clock = new FakeClock();
  type Mode = "ok" | "same" | "fail" | "permanent";
  let mode: Mode = "ok";
  let n = 0;
  let last: RedisCredentials | undefined;
  const source = {
    name: "diagnostics-test",
    fetch: async (): Promise<RedisCredentials> => {
      if (mode === "fail") throw new Error("identity provider unavailable");
      if (mode === "permanent") throw markPermanent(new Error("identity is not a Redis user"));
      if (mode === "ok") {
        last = { username: "svc", password: `${PASSWORD}-${++n}`, expiresAt: clock.now() + HOUR };
      }
      return last as RedisCredentials;
    },
  };
  const manager = createTokenManager(source, { clock });
  manager.on("refreshFailed", () => {});

  // First fetch.
  const first = await manager.getCredentials();
  const [fetch1, ...moreFetches] = channels.take(diagnosticsChannels.fetch);
  expect(moreFetches).toEqual([]);
  expect(fetch1).toMatchObject({
    source: "diagnostics-test",
    reason: "initial",
    attempt: 0,
  });
  const id = (fetch1 as Message).manager;
  expect(typeof id).toBe("number");
  expect(channels.take(diagnosticsChannels.refreshed)).toEqual([
    expect.objectContaining({
      manager: id,
      source: "diagnostics-test",
      reason: "initial",
      username: "svc",
      expiresAt: first.expiresAt,
      nextRefreshAt: manager.status().nextRefreshAt,
    }),
  ]);

  // A scheduled refresh fanned out to two subscribers, one of which throws.
  manager.subscribe(() => {});
  manager.subscribe(() => {
    throw new TypeError("connection closed");
  });
  await clock.advanceTo(manager.status().nextRefreshAt as number);
  expect(channels.take(diagnosticsChannels.fetch)).toEqual([
    expect.objectContaining({
      manager: id,
      source: "diagnostics-test",
      reason: "scheduled",
      attempt: 0,
    }),
  ]);
  const [refreshed2] = channels.take(diagnosticsChannels.refreshed);
  expect(refreshed2).toMatchObject({ manager: id, reason: "scheduled", username: "svc" });
  expect(channels.take(diagnosticsChannels.fanOut)).toEqual([
    expect.objectContaining({
      manager: id,
      source: "diagnostics-test",
      subscribers: 2,
      spreadMs: 5_000,
    }),
  ]);
  await clock.advance(5_000);
  expect(channels.take(diagnosticsChannels.subscriberError)).toEqual([
    expect.objectContaining({
      manager: id,
      source: "diagnostics-test",
      error: { name: "TypeError", message: "connection closed" },
    }),
  ]);

  // The same credentials again.
  mode = "same";
  await manager.refresh();
  expect(channels.take(diagnosticsChannels.unchanged)).toEqual([
    expect.objectContaining({
      manager: id,
      source: "diagnostics-test",
      reason: "forced",
      expiresAt: (last as RedisCredentials).expiresAt,
      nextRefreshAt: manager.status().nextRefreshAt,
    }),
  ]);
  expect(channels.take(diagnosticsChannels.refreshed)).toEqual([]);

  // The same credentials are not a refresh: the manager retries after a backoff, and gets them again.
  await clock.advance(MINUTE);
  expect(channels.take(diagnosticsChannels.unchanged).length).toBeGreaterThan(0);
  channels.take(diagnosticsChannels.fetch);

  // A failure that will be retried, then a permanent one.
  mode = "fail";
  await settle(manager.refresh());
  const [failed] = channels.take(diagnosticsChannels.refreshFailed);
  expect(failed).toMatchObject({
    manager: id,
    source: "diagnostics-test",
    reason: "forced",
    error: {
      name: "CredentialsFetchError",
      message: expect.stringContaining("identity provider unavailable"),
    },
    permanent: false,
    nextRefreshAt: manager.status().nextRefreshAt,
  });
  expect((failed as Message).nextRefreshAt).toBeGreaterThan(clock.now());
  mode = "permanent";
  await clock.advance(MINUTE);
  channels.take(diagnosticsChannels.refreshFailed); // retries that ran meanwhile
  channels.take(diagnosticsChannels.fetch);
  await settle(manager.refresh());
  expect(channels.take(diagnosticsChannels.fetch)).toEqual([
    expect.objectContaining({ manager: id, reason: "forced", attempt: expect.any(Number) }),
  ]);
  const permanentFailures = channels.take(diagnosticsChannels.refreshFailed);
  expect(permanentFailures).toEqual([
    expect.objectContaining({
      manager: id,
      source: "diagnostics-test",
      reason: "forced",
      error: {
        name: "CredentialsFetchError",
        message: expect.stringContaining("not a Redis user"),
      },
      permanent: true,
    }),
  ]);
  // Nothing comes next: a permanent failure stops the retries.
  expect((permanentFailures[0] as Message).nextRefreshAt).toBeUndefined();

  // No retries: the credentials lapse.
  const expiresAt = manager.status().expiresAt as number;
  await clock.advanceTo(expiresAt + MINUTE);
  expect(channels.take(diagnosticsChannels.expired)).toEqual([
    expect.objectContaining({ manager: id, source: "diagnostics-test", expiredAt: expiresAt }),
  ]);

  // The next caller's attempt succeeds: recovered, after one minute without credentials.
  mode = "ok";
  await manager.getCredentials();
  expect(channels.take(diagnosticsChannels.recovered)).toEqual([
    expect.objectContaining({ manager: id, source: "diagnostics-test", downtimeMs: MINUTE }),
  ]);
  expect(channels.take(diagnosticsChannels.refreshed)).toEqual([
    expect.objectContaining({ manager: id, reason: "retry" }),
  ]);
  expect(channels.take(diagnosticsChannels.fetch)).toEqual([
    expect.objectContaining({ manager: id, reason: "retry" }),
  ]);

  const everything = channels.all();
  expect(everything.length).toBeGreaterThan(15);
  for (const message of everything) {
    expect(JSON.stringify(message)).not.toContain(PASSWORD);
    expect(
      util.inspect(message, { showHidden: true, depth: Number.POSITIVE_INFINITY }),
    ).not.toContain(PASSWORD);
  }
  await manager.dispose();
  channels.close();
});

test("messages carry a process-unique manager id; none holds the password", async () => {
  const channels = listen();
  const clock = new FakeClock();
  const secrets: string[] = [];
  const makeSource = (name: string) => ({
    name,
    fetch: async () => {
      const password = `${PASSWORD}-${name}-${secrets.length}`;
      secrets.push(password);
      return { username: "svc", password, expiresAt: clock.now() + HOUR };
    },
  });
  const a = createTokenManager(makeSource("a"), { clock, reauthSpreadMs: 0 });
  const b = createTokenManager(makeSource("a"), { clock, reauthSpreadMs: 0 });
  a.subscribe(async () => {
    throw new Error("rejected");
  });
  await Promise.all([a.getCredentials(), b.getCredentials()]);
  await Promise.all([a.refresh(), b.refresh()]);
  await clock.advance(0);

  const all = channels.all();
  const ids = new Set(all.map((m) => m.manager));
  expect(ids.size).toBe(2);
  for (const id of ids) expect(typeof id).toBe("number");
  // Same source name, different managers: told apart by id.
  expect(all.every((m) => m.source === "a")).toBe(true);
  expect(secrets.length).toBe(4);
  for (const message of all) {
    const text = `${JSON.stringify(message)} ${util.inspect(message, { showHidden: true, depth: Number.POSITIVE_INFINITY })}`;
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain(PASSWORD);
  }
  await a.dispose();
  await b.dispose();
  channels.close();
});

test("manager.id is the manager field of its messages, and each fetch outcome carries its duration", async () => {
  const channels = listen();
  const clock = new FakeClock();
  let mode: "ok" | "same" | "fail" = "ok";
  let n = 0;
  let last: RedisCredentials | undefined;
  const source = {
    name: "duration-test",
    // Each answer takes 250 ms of the fake clock, a failure 400 ms.
    fetch: () =>
      new Promise<RedisCredentials>((resolve, reject) => {
        if (mode === "fail") {
          clock.setTimeout(() => reject(new Error("identity provider unavailable")), 400);
          return;
        }
        if (mode === "ok") {
          last = { username: "svc", password: `${PASSWORD}-${++n}`, expiresAt: clock.now() + HOUR };
        }
        clock.setTimeout(() => resolve(last as RedisCredentials), 250);
      }),
  };
  // A 1-ms floor between forced refreshes: each refresh() below is one attempt.
  const manager = createTokenManager(source, {
    clock,
    fetchTimeoutMs: 1_000,
    minRefreshIntervalMs: 1,
  });
  const other = createTokenManager({ name: "other", fetch: source.fetch }, { clock });
  manager.on("refreshFailed", () => {});
  expect(typeof manager.id).toBe("number");
  expect(other.id).not.toBe(manager.id);

  const first = manager.getCredentials();
  await clock.advance(250);
  await first;
  expect(channels.take(diagnosticsChannels.refreshed)).toEqual([
    expect.objectContaining({ manager: manager.id, reason: "initial", durationMs: 250 }),
  ]);

  mode = "same";
  const unchanged = manager.refresh().catch(() => undefined);
  await clock.advance(250);
  await unchanged;
  expect(channels.take(diagnosticsChannels.unchanged)).toEqual([
    expect.objectContaining({ manager: manager.id, reason: "forced", durationMs: 250 }),
  ]);

  mode = "fail";
  const failed = manager.refresh().catch(() => undefined);
  await clock.advance(400);
  await failed;
  expect(channels.take(diagnosticsChannels.refreshFailed)).toEqual([
    expect.objectContaining({ manager: manager.id, reason: "forced", durationMs: 400 }),
  ]);

  // A source that never answers: the attempt lasts the fetch timeout.
  source.fetch = () => new Promise<RedisCredentials>(() => {});
  const timedOut = manager.refresh().catch(() => undefined);
  await clock.advance(1_000);
  await timedOut;
  const [timeout] = channels.take(diagnosticsChannels.refreshFailed);
  expect(timeout).toMatchObject({ manager: manager.id, durationMs: 1_000 });
  channels.close();
  await Promise.all([manager.dispose(), other.dispose()]);
});
