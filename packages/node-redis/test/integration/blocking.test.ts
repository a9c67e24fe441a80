import { createClient } from "../../src";
import { rotations, sleep } from "./helpers";
import {
  clientOptions,
  closeClient,
  collectErrors,
  connectionOf,
  describeErrors,
  fixturesBeforeAll,
  isConnectionLost,
  nextDelivery,
  otherIdentity,
  report,
  runLoop,
  waitFor,
} from "./load-helpers";

/*
 * Redis does not read a blocked client's input: an AUTH the adapter sends while BLPOP or BLMOVE
 * blocks waits in line, and Redis runs it when the command returns. A timeout shorter than the
 * time between the refresh and the old token's expiry is therefore always in time; a timeout of
 * 0 on a key nobody pushes to is not, and the server closes the connection at expiry.
 */

/** Another identity than the fixture's, for the client that pushes: its connection is told apart. */
const PUSHER = "00000000-0000-4000-8000-00000000fee0";

const fixtures = fixturesBeforeAll(2);

test.concurrent("BLPOP and BLMOVE with a 1 s timeout, back to back across 3 rotations, never fail: Redis runs each AUTH when the command returns", async () => {
  const fixture = fixtures.take();
  // Tokens of 6 s refreshed halfway: the AUTH of a rotation reaches the connection about 3 s
  // before the old token expires, much more than the 1 s a command blocks.
  const manager = fixture.manager({ lifetimeMs: 6_000, refreshBeforeExpiryMs: 3_000 });
  const pusherManager = otherIdentity(fixture, PUSHER);
  const client = createClient(manager, clientOptions(fixture));
  const pusher = createClient(pusherManager, clientOptions(fixture));
  const errors = collectErrors(client);
  const pusherErrors = collectErrors(pusher);
  try {
    await Promise.all([client.connect(), pusher.connect()]);
    const before = connectionOf(fixture.server, fixture.objectId)!;
    const received: string[] = [];
    let moved = 0;
    let timedOut = 0;
    // Alternately BLPOP from `jobs` and BLMOVE from `jobs` to `done`; both block up to 1 s.
    let blockedMs = 0;
    const started = Date.now();
    const consumer = runLoop(async (iteration) => {
      const viaMove = iteration % 2 === 1;
      const sent = Date.now();
      const element = viaMove
        ? await client.blMove("jobs", "done", "LEFT", "RIGHT", 1)
        : ((await client.blPop("jobs", 1)) as { key: string; element: string } | null)?.element;
      blockedMs += Date.now() - sent;
      if (element === null || element === undefined) timedOut++;
      else {
        received.push(element);
        if (viaMove) moved++;
      }
    });
    // An element every 1.5 s: some commands return with it, others time out empty.
    const pushed: string[] = [];
    const producer = runLoop(async (iteration) => {
      await sleep(1_500);
      const element = `job-${iteration}`;
      await pusher.rPush("jobs", element);
      pushed.push(element);
    });
    let rotated = 0;
    const onRefreshed = () => rotated++;
    manager.on("refreshed", onRefreshed);
    await rotations(manager, 3);
    manager.off("refreshed", onRefreshed);
    await producer.stop();
    // Every element pushed is taken (and the AUTHs of the last rotation ran meanwhile).
    await waitFor(() => received.length === pushed.length, "the last element", 3_000);
    await consumer.stop();
    const blockedShare = blockedMs / (Date.now() - started);

    expect(describeErrors(consumer.errors)).toEqual([]);
    expect(describeErrors(producer.errors)).toEqual([]);
    expect(received).toEqual(pushed);
    expect(await client.lLen("done")).toBe(moved);
    // Both kinds of return happened: with an element, and empty at the timeout.
    expect(received.length).toBeGreaterThanOrEqual(3);
    expect(moved).toBeGreaterThanOrEqual(1);
    expect(timedOut).toBeGreaterThanOrEqual(3);
    // A command was blocking nearly all the time: the rotations' AUTHs came while one was.
    expect(blockedShare).toBeGreaterThan(0.8);
    // The same connection throughout, renewed by one applied AUTH per rotation.
    const after = connectionOf(fixture.server, fixture.objectId)!;
    expect(after.id).toBe(before.id);
    expect(after.authSuccesses - before.authSuccesses).toBeGreaterThanOrEqual(rotated);
    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    expect(stats.authNotApplied).toEqual({});
    expect(describeErrors(errors)).toEqual([]);
    expect(describeErrors(pusherErrors)).toEqual([]);
    report("node-redis blocking, finite timeout", {
      rotations: rotated,
      commands: received.length + timedOut,
      withElement: received.length,
      timedOut,
      blockedShare: Math.round(blockedShare * 100) / 100,
    });
  } finally {
    closeClient(client);
    closeClient(pusher);
    await pusherManager.dispose();
    await fixture.stop();
  }
}, 30_000);

test.concurrent("BLPOP with timeout 0 on an idle key: the server closes it at expiry, node-redis rejects it, the client reconnects with fresh credentials, and BLMOVE/BLPOP with a timeout work on the new connection", async () => {
  const fixture = fixtures.take();
  // Tokens of 4 s: the expiry comes soon; refreshed halfway.
  const manager = fixture.manager({ lifetimeMs: 4_000, refreshBeforeExpiryMs: 2_000 });
  const pusherManager = otherIdentity(fixture, PUSHER);
  const client = createClient(manager, clientOptions(fixture));
  const pusher = createClient(pusherManager, clientOptions(fixture));
  const errors = collectErrors(client);
  const pusherErrors = collectErrors(pusher);
  let reconnecting = 0;
  client.on("reconnecting", () => reconnecting++);
  try {
    await Promise.all([client.connect(), pusher.connect()]);
    const before = connectionOf(fixture.server, fixture.objectId)!;
    const blocked = client.blPop("idle", 0).then(
      (reply) => ({ reply }),
      (error: Error) => ({ error }),
    );
    // The rotation's AUTH is written behind BLPOP: it reaches the server, which does not run it.
    await nextDelivery(manager);
    await waitFor(
      () => (connectionOf(fixture.server, fixture.objectId)?.authAttempts ?? 0) >= 2,
      "the AUTH to reach the server",
      1_500,
    );
    const waiting = connectionOf(fixture.server, fixture.objectId)!;
    expect(waiting.id).toBe(before.id);
    expect(waiting.authAttempts).toBe(2);
    expect(waiting.authSuccesses).toBe(1);
    expect(waiting.expiresAt).toBe(before.expiresAt);
    // So the server closes the connection at expiry, and node-redis rejects BLPOP.
    const outcome = await blocked;
    expect(Date.now()).toBeGreaterThanOrEqual(before.expiresAt!);
    expect("error" in outcome && isConnectionLost(outcome.error)).toBe(true);
    expect(fixture.server.stats().closedAtExpiry).toBe(1);

    // node-redis reconnects by itself, with the manager's current credentials.
    await waitFor(
      () =>
        client.isReady &&
        (connectionOf(fixture.server, fixture.objectId)?.id ?? before.id) !== before.id,
      "the client to reconnect",
      5_000,
    );
    const reconnected = connectionOf(fixture.server, fixture.objectId)!;
    expect(reconnected.expiresAt!).toBeGreaterThan(before.expiresAt!);

    // BLMOVE with a finite timeout, answered by an element pushed while it blocks...
    const moved = client.blMove("src", "dst", "LEFT", "RIGHT", 2);
    await sleep(100);
    expect(await pusher.rPush("src", "job-1")).toBe(1);
    expect(await moved).toBe("job-1");
    expect(await client.lRange("dst", 0, -1)).toEqual(["job-1"]);
    // ...then BLPOP on the key that was idle, and one that times out empty.
    const popped = client.blPop("idle", 2);
    await sleep(100);
    expect(await pusher.rPush("idle", "job-2")).toBe(1);
    expect(await popped).toEqual({ key: "idle", element: "job-2" });
    expect(await client.blPop("idle", 0.2)).toBeNull();

    // The new connection is renewed in place at the next rotation.
    await waitFor(
      () =>
        (connectionOf(fixture.server, fixture.objectId)?.expiresAt ?? 0) > reconnected.expiresAt!,
      "a re-AUTH of the new connection",
      10_000,
    );
    expect(await client.ping()).toBe("PONG");
    expect(connectionOf(fixture.server, fixture.objectId)!.id).toBe(reconnected.id);

    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(1);
    // No reconnect presented an expired token, and nothing was refused.
    expect(stats.authRejected).toEqual({});
    expect(stats.authNotApplied).toEqual({});
    // What the user saw: the close, reported once by node-redis, and one reconnect.
    expect(errors).toHaveLength(1);
    expect(isConnectionLost(errors[0])).toBe(true);
    expect(reconnecting).toBe(1);
    expect(describeErrors(pusherErrors)).toEqual([]);
  } finally {
    closeClient(client);
    closeClient(pusher);
    await pusherManager.dispose();
    await fixture.stop();
  }
});
