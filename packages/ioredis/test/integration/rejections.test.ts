import { CredentialsRejectedError } from "@redis-credentials/core";
import { createRedis } from "../../src";
import { sleep, startFixture } from "./helpers";
import {
  collectErrors,
  lazyBoundClient,
  managerFor,
  switchableSource,
  WRONG_USER,
  waitFor,
} from "./standalone-helpers";

/*
 * A source that hands out valid tokens for an identity Redis does not know (a user name that is
 * not the token's object id): the token-enforcing Redis answers WRONGPASS. The adapter forces one
 * refresh, then reports a typed error once and backs off: no loop, no flood of fetches.
 */

const OBSERVE_MS = 5_000;
const isRejected = (error: Error) => error instanceof CredentialsRejectedError;
const isWrongpass = (error: Error) => /^WRONGPASS/.test(error.message);

it.concurrent("a handshake rejected with WRONGPASS: one forced refresh, one typed error, then backoff", async () => {
  const fixture = await startFixture();
  const source = switchableSource(fixture, "wrong-user");
  const manager = managerFor(source);
  const { redis, binding } = lazyBoundClient(fixture, manager);
  const errors = collectErrors(redis);
  try {
    redis.connect().catch(() => {});
    await sleep(OBSERVE_MS);

    // Exactly one forced refresh, and its credentials were tried too (and refused).
    expect(source.count("forced")).toBe(1);
    expect(errors.filter(isWrongpass).length).toBeGreaterThanOrEqual(2);
    // One typed error, once, naming the user Redis refused (never the token).
    const rejected = errors.filter(isRejected) as CredentialsRejectedError[];
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.username).toBe(WRONG_USER);
    expect(rejected[0]!.source).toBe(source.name);
    expect(rejected[0]!.message).not.toContain(manager.peekCredentials()?.password ?? "<none>");
    // Backoff: a handful of fetches (the first, the forced one, the scheduled rotations) and a
    // handful of handshakes over five seconds, not a loop.
    expect(source.count()).toBeLessThanOrEqual(6);
    const stats = fixture.server.stats();
    expect(stats.authRejected.user ?? 0).toBeGreaterThanOrEqual(2);
    expect(stats.authAttempts).toBeLessThanOrEqual(8);
    expect(errors.filter(isWrongpass).length).toBeLessThanOrEqual(8);
    expect(stats.authSuccesses).toBe(0);
    expect(binding.status().reauthFailures).toBeGreaterThanOrEqual(2);
    expect(redis.status).not.toBe("ready");
    // Nothing but the refusals and the one typed error reached the user.
    expect(errors.filter((error) => !isWrongpass(error) && !isRejected(error))).toEqual([]);
  } finally {
    redis.disconnect();
    await manager.dispose();
    await fixture.stop();
  }
}, 30_000);

it.concurrent("createRedis for an identity Redis refuses rejects with the typed error after one forced refresh", async () => {
  const fixture = await startFixture();
  const source = switchableSource(fixture, "wrong-user");
  const manager = managerFor(source);
  try {
    const error = await createRedis(manager, fixture.redisOptions()).then(
      () => undefined,
      (reason: Error) => reason,
    );
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect((error as CredentialsRejectedError).username).toBe(WRONG_USER);
    expect(source.count("forced")).toBe(1);
    const stats = fixture.server.stats();
    expect(stats.authAttempts).toBe(2);
    expect(stats.authRejected).toEqual({ user: 2 });
    // The client it made was disconnected: nothing keeps trying.
    await sleep(1_500);
    expect(fixture.server.stats().authAttempts).toBe(2);
    expect(fixture.server.stats().connections).toBe(0);
  } finally {
    await manager.dispose();
    await fixture.stop();
  }
});

it.concurrent("a live re-AUTH rejected with WRONGPASS: one forced refresh, one typed error, no loop, and recovery", async () => {
  const fixture = await startFixture();
  const source = switchableSource(fixture, "ok");
  const manager = managerFor(source);
  const { redis, binding } = lazyBoundClient(fixture, manager);
  const errors = collectErrors(redis);
  try {
    await redis.connect();
    expect(await redis.ping()).toBe("PONG");
    const fetchesBefore = source.count();
    // The identity loses its access: every token from now on names a user Redis does not know.
    source.mode = "wrong-user";
    await sleep(OBSERVE_MS);

    expect(source.count("forced")).toBe(1);
    const rejected = errors.filter(isRejected) as CredentialsRejectedError[];
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.username).toBe(WRONG_USER);
    expect(source.count() - fetchesBefore).toBeLessThanOrEqual(6);
    const stats = fixture.server.stats();
    expect(stats.authRejected.user ?? 0).toBeGreaterThanOrEqual(2);
    expect(stats.authRejected.user ?? 0).toBeLessThanOrEqual(8);
    expect(stats.authRejected.expired ?? 0).toBe(0);
    expect(binding.status().reauthFailures).toBeGreaterThanOrEqual(2);
    expect(errors.filter((error) => !isWrongpass(error) && !isRejected(error))).toEqual([]);

    // Access restored: the next credentials work, with nothing for the user to do.
    source.mode = "ok";
    const successes = fixture.server.stats().authSuccesses;
    await waitFor(
      () => fixture.server.stats().authSuccesses > successes && redis.status === "ready",
      "the client to authenticate again",
      8_000,
    );
    expect(await redis.ping()).toBe("PONG");
    expect(fixture.server.stats().connectionsByUser).toEqual({ [fixture.objectId]: 1 });
  } finally {
    redis.disconnect();
    await manager.dispose();
    await fixture.stop();
  }
}, 30_000);
