import type { TokenManager } from "@redis-credentials/core";
import type { Redis } from "ioredis";
import { createRedis } from "../../src";
import { type Fixture, rotations, sleep, startFixture } from "./helpers";
import { expiredAuths, nextRefresh, serverConnection, waitFor } from "./standalone-helpers";

/*
 * `multi({ pipeline: false })` leaves the server inside MULTI until EXEC or DISCARD: an AUTH sent
 * then would be queued into the transaction (EXEC would return its reply too, and the token would
 * not be renewed). The adapter holds the re-AUTH back until EXEC or DISCARD is written.
 */

interface Setup {
  fixture: Fixture;
  manager: TokenManager;
  redis: Redis;
}

/**
 * Tokens of 8 s refreshed halfway: about 4 s between a rotation and the old token's expiry, so
 * that a transaction held across a rotation ends before it even when a loaded CI machine stalls
 * the test process for a second or more (with the fixture's 3-s tokens the margin was 0.6 s).
 */
const HOLD = { lifetimeMs: 8_000, refreshBeforeExpiryMs: 4_000 };

async function withClient(
  managerOptions: { lifetimeMs?: number; refreshBeforeExpiryMs?: number },
  test: (setup: Setup) => Promise<void>,
) {
  const fixture = await startFixture();
  try {
    const manager = fixture.manager(managerOptions);
    const redis = await createRedis(manager, fixture.redisOptions());
    try {
      await test({ fixture, manager, redis });
    } finally {
      redis.disconnect();
    }
  } finally {
    await fixture.stop();
  }
}

/**
 * Opens a transaction, queues a SET and an INCR, and holds it open across the moment the manager
 * hands out new credentials (and past their staggered delivery), but not past the old token's
 * expiry. Returns the server's view of the connection.
 */
async function holdTransactionAcrossRotation({ fixture, manager, redis }: Setup, key: string) {
  const before = serverConnection(fixture.server, redis);
  expect(before?.authSuccesses).toBe(1);
  const rotated = nextRefresh(manager);
  expect(await redis.multi({ pipeline: false })).toBe("OK");
  expect(await redis.set(key, "value")).toBe("QUEUED");
  expect(await redis.incr(`${key}:counter`)).toBe("QUEUED");
  await rotated;
  // The manager delivers new credentials to every subscriber within reauthSpreadMs (200 ms).
  await sleep(400);
  const during = serverConnection(fixture.server, redis);
  // The same connection, on its first token, which has not expired yet...
  expect(during?.id).toBe(before!.id);
  expect(during!.expiresAt).toBe(before!.expiresAt);
  expect(Date.now()).toBeLessThan(during!.expiresAt!);
  // ...and no AUTH reached the server inside the transaction.
  expect(during!.authAttempts).toBe(1);
  expect(fixture.server.stats().authNotApplied.queued ?? 0).toBe(0);
  return before!;
}

/** After EXEC/DISCARD the held-back AUTH goes out: the same connection gets a later deadline. */
async function expectReauthenticatedInPlace(
  setup: Setup,
  before: { id: number; expiresAt?: number },
) {
  const { fixture, manager, redis } = setup;
  await waitFor(
    () => (serverConnection(fixture.server, redis)?.authSuccesses ?? 0) >= 2,
    "the re-AUTH after the transaction",
    2_000,
  );
  const after = serverConnection(fixture.server, redis)!;
  expect(after.id).toBe(before.id);
  expect(after.expiresAt!).toBeGreaterThan(before.expiresAt!);
  // It keeps going on the same connection past the first token's expiry and another rotation.
  await rotations(manager, 1);
  await sleep(400);
  expect(await redis.ping()).toBe("PONG");
  expect(serverConnection(fixture.server, redis)?.id).toBe(before.id);
  const stats = fixture.server.stats();
  expect(stats.closedAtExpiry).toBe(0);
  expect(stats.authNotApplied.queued ?? 0).toBe(0);
  expect(expiredAuths(fixture.server)).toBe(0);
}

it.concurrent("EXEC after a re-AUTH moment returns exactly the queued replies, then the connection re-authenticates", async () => {
  await withClient(HOLD, async (setup) => {
    const before = await holdTransactionAcrossRotation(setup, "tx:exec");
    // Two commands queued, two replies: no reply of an AUTH queued inside.
    expect(await setup.redis.exec()).toEqual([
      [null, "OK"],
      [null, 1],
    ]);
    expect(await setup.redis.get("tx:exec")).toBe("value");
    await expectReauthenticatedInPlace(setup, before);
  });
});

it.concurrent("DISCARD after a re-AUTH moment discards the queued commands, then the connection re-authenticates", async () => {
  await withClient(HOLD, async (setup) => {
    const before = await holdTransactionAcrossRotation(setup, "tx:discard");
    expect(await setup.redis.discard()).toBe("OK");
    expect(await setup.redis.exists("tx:discard", "tx:discard:counter")).toBe(0);
    await expectReauthenticatedInPlace(setup, before);
  });
});

it.concurrent("a transaction held open past the token's expiry fails at EXEC; the client carries on", async () => {
  await withClient({}, async ({ fixture, manager, redis }) => {
    const before = serverConnection(fixture.server, redis)!;
    expect(await redis.multi({ pipeline: false })).toBe("OK");
    expect(await redis.set("tx:late", "value")).toBe("QUEUED");
    // The re-AUTH waits for EXEC, so the server closes the connection when its token expires.
    await waitFor(() => fixture.server.stats().closedAtExpiry === 1, "the close at expiry", 6_000);
    expect(Date.now()).toBeGreaterThanOrEqual(before.expiresAt!);
    // What the user sees: ioredis reconnected (with current credentials) and sent EXEC on the
    // new connection, where no transaction is open.
    await expect(redis.exec()).rejects.toThrow(/EXEC without MULTI/);
    expect(await redis.get("tx:late")).toBeNull();
    // The new connection is a normal, authenticated one that keeps being renewed.
    const after = serverConnection(fixture.server, redis)!;
    expect(after.id).not.toBe(before.id);
    await rotations(manager, 1);
    await sleep(400);
    expect(await redis.ping()).toBe("PONG");
    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(1);
    expect(stats.authNotApplied.queued ?? 0).toBe(0);
    expect(expiredAuths(fixture.server)).toBe(0);
  });
});
