import { CredentialsRejectedError } from "@redis-credentials/core";
import * as redis from "redis";
import { createClient, credentialsProvider, type TokenCredentialsProvider } from "../../src";
import { sleep } from "./helpers";
import {
  clientOptions,
  closeClient,
  collectErrors,
  connectionOf,
  describeErrors,
  fixturesBeforeAll,
  isConnectionLost,
  managerFor,
  switchableSource,
  WRONG_USER,
  waitFor,
} from "./load-helpers";

/*
 * A source that hands out valid tokens for an identity Redis does not know (a user name that is
 * not the token's object id): the token-enforcing Redis answers WRONGPASS. The adapter forces one
 * refresh; if Redis refuses the fresh credentials too, it reports one typed error and backs off:
 * no loop, no flood of fetches; when good credentials come back, the connection recovers.
 */

const OBSERVE_MS = 5_000;
const isRejected = (error: Error) => error instanceof CredentialsRejectedError;
const isWrongpass = (error: Error) => /^WRONGPASS/.test(error.message);

// Nothing may be printed instead of reaching the user through an event or a callback.
const consoleError = jest.spyOn(console, "error");
afterAll(() => consoleError.mockRestore());

/** The provider createClient installed: its status() counts refused AUTHs. */
function providerOf(client: { options?: unknown }): TokenCredentialsProvider {
  return (client.options as { credentialsProvider: TokenCredentialsProvider }).credentialsProvider;
}

const fixtures = fixturesBeforeAll(4);

test.concurrent("a re-AUTH refused once, then fresh credentials accepted: one forced refresh, same connection, no error for the user", async () => {
  const fixture = fixtures.take();
  // Tokens of 6 s refreshed halfway: the refusal and the retry come ~3 s before the old token's
  // expiry, so that even a loaded machine renews the connection in place.
  const source = switchableSource(fixture, "ok", 6_000);
  const manager = managerFor(source, { refreshBeforeExpiryMs: 3_000 });
  const managerErrors: unknown[] = [];
  manager.on("subscriberError", (error) => managerErrors.push(error));
  const client = createClient(manager, clientOptions(fixture));
  const errors = collectErrors(client);
  try {
    await client.connect();
    const before = connectionOf(fixture.server, fixture.objectId)!;
    expect(before.authSuccesses).toBe(1);
    // The next fetch (the scheduled rotation) names a user Redis does not know; the one after is good.
    source.mode = "wrong-once";
    await waitFor(
      () => (connectionOf(fixture.server, fixture.objectId)?.authSuccesses ?? 0) >= 2,
      "the re-AUTH with the forced refresh's credentials",
      8_000,
    );

    // (The manager also fans the forced refresh's credentials out to the connection, which may
    // send them a second time: Redis accepts that too.)
    await sleep(400);
    expect(source.fetches).toEqual(["initial", "scheduled", "forced"]);
    const stats = fixture.server.stats();
    expect(stats.authRejected).toEqual({ user: 1 });
    expect(stats.authSuccesses).toBeGreaterThanOrEqual(2);
    // The same connection, renewed in place before its first token expired.
    const after = connectionOf(fixture.server, fixture.objectId)!;
    expect(after.id).toBe(before.id);
    expect(after.expiresAt!).toBeGreaterThan(before.expiresAt!);
    expect(stats.closedAtExpiry).toBe(0);
    expect(await client.ping()).toBe("PONG");
    expect(providerOf(client).status().reauthFailures).toBe(1);
    // The user saw nothing of it.
    expect(describeErrors(errors)).toEqual([]);
    expect(managerErrors).toEqual([]);
  } finally {
    closeClient(client);
    await manager.dispose();
    await fixture.stop();
  }
});

test.concurrent("a re-AUTH refused for good: one CredentialsRejectedError on the client's error event, no fetch loop, and recovery when good credentials return", async () => {
  const fixture = fixtures.take();
  const source = switchableSource(fixture);
  const manager = managerFor(source);
  const managerErrors: unknown[] = [];
  manager.on("subscriberError", (error) => managerErrors.push(error));
  const client = createClient(manager, clientOptions(fixture));
  const errors = collectErrors(client);
  try {
    await client.connect();
    expect(await client.set("kept", "before")).toBe("OK");
    const fetchesBefore = source.count();
    const attemptsBefore = fixture.server.stats().authAttempts;
    // The identity loses its access: every token from now on names a user Redis does not know.
    source.mode = "wrong-user";
    await sleep(OBSERVE_MS);

    // One typed error, on the client's error event, naming the refused user (never the token).
    const rejected = errors.filter(isRejected) as CredentialsRejectedError[];
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.username).toBe(WRONG_USER);
    expect(rejected[0]!.source).toBe(source.name);
    expect(rejected[0]!.message).not.toContain(manager.peekCredentials()?.password ?? "<none>");
    expect(isWrongpass(rejected[0]!.cause as Error)).toBe(true);
    // Not printed: the error event is where the user gets it.
    expect(consoleError).not.toHaveBeenCalled();
    // No loop: one forced refresh for the whole run of refusals (the reconnect after the old
    // token expired included), a handful of scheduled fetches and AUTHs in 5 s.
    expect(source.count("forced")).toBe(1);
    expect(source.count() - fetchesBefore).toBeLessThanOrEqual(6);
    const stats = fixture.server.stats();
    expect(stats.authRejected.user ?? 0).toBeGreaterThanOrEqual(2);
    expect(stats.authAttempts - attemptsBefore).toBeLessThanOrEqual(8);
    // Only refused credentials, never an expired token.
    expect(Object.keys(stats.authRejected)).toEqual(["user"]);
    // The old token expired meanwhile: the server closed the connection, and the reconnects'
    // handshakes were refused as well (same run of refusals).
    expect(stats.closedAtExpiry).toBe(1);
    expect(providerOf(client).status().reauthFailures).toBeGreaterThanOrEqual(2);
    // Besides the typed error, the user saw only what node-redis reports itself: the close at
    // the old token's expiry and the refused handshakes of the reconnects.
    expect(
      describeErrors(
        errors.filter((e) => !isRejected(e) && !isWrongpass(e) && !isConnectionLost(e)),
      ),
    ).toEqual([]);
    // The manager's subscriberError hears of it too (its subscriber failed), and of nothing else.
    for (const error of managerErrors) expect(error).toBe(rejected[0]);

    // Access restored: the next credentials work, with nothing for the user to do.
    source.mode = "ok";
    const successes = fixture.server.stats().authSuccesses;
    await waitFor(
      () => fixture.server.stats().authSuccesses > successes && client.isReady,
      "the client to authenticate again",
      8_000,
    );
    expect(await client.get("kept")).toBe("before");
    expect(await client.set("kept", "after")).toBe("OK");
    expect(fixture.server.stats().connectionsByUser).toEqual({ [fixture.objectId]: 1 });
    expect(errors.filter(isRejected)).toHaveLength(1);
  } finally {
    closeClient(client);
    await manager.dispose();
    await fixture.stop();
  }
}, 30_000);

test.concurrent("a bare credentialsProvider on node-redis's createClient: the refusal reaches onReAuthenticationError and the manager's subscriberError, not the client's error event", async () => {
  const fixture = fixtures.take();
  const source = switchableSource(fixture);
  const manager = managerFor(source);
  const managerErrors: unknown[] = [];
  manager.on("subscriberError", (error) => managerErrors.push(error));
  const reauthErrors: Error[] = [];
  const provider = credentialsProvider(manager, {
    allowInsecureTransport: true,
    onReAuthenticationError: (error) => reauthErrors.push(error),
  });
  const client = redis.createClient({
    socket: { host: fixture.server.host, port: fixture.server.port },
    credentialsProvider: provider,
  });
  const errors = collectErrors(client);
  try {
    await client.connect();
    expect(await client.ping()).toBe("PONG");
    const before = connectionOf(fixture.server, fixture.objectId)!;
    source.mode = "wrong-user";
    await waitFor(() => reauthErrors.length > 0, "the reported refusal", 6_000);
    // Let the backoff run a little: still one report.
    await sleep(1_500);

    expect(reauthErrors).toHaveLength(1);
    const [error] = reauthErrors as [CredentialsRejectedError];
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect(error.username).toBe(WRONG_USER);
    expect(error.source).toBe(source.name);
    expect(managerErrors).toEqual([error]);
    expect(source.count("forced")).toBe(1);
    expect(provider.status().reauthFailures).toBeGreaterThanOrEqual(2);
    // node-redis's own error event heard nothing of it (and no identification probe either).
    expect(errors.filter(isRejected)).toEqual([]);
    expect(describeErrors(errors.filter((e) => !isWrongpass(e) && !isConnectionLost(e)))).toEqual(
      [],
    );
    expect(consoleError).not.toHaveBeenCalled();

    // Access restored: the connection is re-authenticated or, once the old token expired,
    // reconnected with good credentials; either way commands succeed.
    source.mode = "ok";
    const successes = fixture.server.stats().authSuccesses;
    await waitFor(
      () => fixture.server.stats().authSuccesses > successes && client.isReady,
      "good credentials to reach the connection",
      8_000,
    );
    expect(await client.ping()).toBe("PONG");
    const after = connectionOf(fixture.server, fixture.objectId)!;
    expect(after.expiresAt!).toBeGreaterThan(before.expiresAt!);
    expect(reauthErrors).toHaveLength(1);
  } finally {
    closeClient(client);
    provider.dispose();
    await manager.dispose();
    await fixture.stop();
  }
}, 30_000);

test.concurrent("a handshake refused for good: connect() rejects with CredentialsRejectedError after two AUTHs, and nothing keeps trying", async () => {
  const fixture = fixtures.take();
  const source = switchableSource(fixture, "wrong-user");
  const manager = managerFor(source);
  const client = createClient(manager, clientOptions(fixture));
  const errors = collectErrors(client);
  try {
    const failure = await client.connect().then(
      () => undefined,
      (reason: Error) => reason,
    );
    expect(failure).toBeInstanceOf(CredentialsRejectedError);
    expect((failure as CredentialsRejectedError).username).toBe(WRONG_USER);
    expect(isWrongpass((failure as CredentialsRejectedError).cause as Error)).toBe(true);
    // The first credentials, then those of one forced refresh: two handshakes, both refused.
    expect(source.fetches.slice(0, 2)).toEqual(["initial", "forced"]);
    const stats = fixture.server.stats();
    expect(stats.authAttempts).toBe(2);
    expect(stats.authRejected).toEqual({ user: 2 });
    expect(stats.authSuccesses).toBe(0);
    // The client gave up: no more attempts, no connection left.
    expect(client.isOpen).toBe(false);
    await sleep(1_500);
    expect(fixture.server.stats().authAttempts).toBe(2);
    expect(fixture.server.stats().connections).toBe(0);
    // (The manager itself goes on refreshing on schedule; nothing forced another fetch.)
    expect(source.count("forced")).toBe(1);
    // The refused handshakes were reported as they happened, and the CredentialsRejectedError
    // once (the connect's own rejection, which node-redis also emits); nothing else.
    expect(errors.filter(isRejected)).toHaveLength(1);
    expect(describeErrors(errors.filter((e) => !isWrongpass(e) && !isRejected(e)))).toEqual([]);
    expect(consoleError).not.toHaveBeenCalled();
  } finally {
    closeClient(client);
    await manager.dispose();
    await fixture.stop();
  }
});
