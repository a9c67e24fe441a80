import type { TokenManager } from "@redis-credentials/core";
import type { ConnectionStats } from "@redis-credentials/testing";
import * as redis from "redis";
import { createClient, credentialsProvider } from "../../src";
import { type Fixture, rotations, sleep } from "./helpers";
import {
  clientOptions,
  closeClient,
  collectErrors,
  connectionOf,
  describeErrors,
  fixturesBeforeAll,
  isConnectionLost,
  nextDelivery,
  report,
  runLoop,
  waitFor,
} from "./load-helpers";

/*
 * A MULTI sent by hand (`sendCommand(['MULTI'])`) leaves the server inside the transaction until
 * EXEC or DISCARD: an AUTH sent then would be queued into it (EXEC would return its reply too, and
 * the token would not be renewed, so the server would close the connection at expiry). On a client
 * from createClient, the adapter holds the re-AUTH back until EXEC or DISCARD is sent.
 * `multi().exec()` is written by node-redis as one chain, which no AUTH can enter.
 */

function newClient(manager: TokenManager, fixture: Fixture) {
  return createClient(manager, clientOptions(fixture));
}
type Client = ReturnType<typeof newClient>;

interface Setup {
  fixture: Fixture;
  manager: TokenManager;
  client: Client;
  errors: Error[];
}

/**
 * Tokens of 16 s refreshed halfway (AUTHs within 200 ms of the refresh): about 8 s between a
 * rotation and the old token's expiry, so that a transaction held across a rotation ends before
 * it even when a loaded CI machine stalls the test process for seconds (with 4 s, one CI run saw
 * every transaction held across a rotation still open 6.5 s after the old token's expiry).
 */
const HOLD = { lifetimeMs: 16_000, refreshBeforeExpiryMs: 8_000 };
/** A HOLD test waits about 8 s for the rotation and 8 s more for the old token's expiry. */
jest.setTimeout(60_000);
/** Tokens of 6 s refreshed halfway: a rotation about every 3 s, 3 s before expiry. */
const LOOP = { lifetimeMs: 6_000, refreshBeforeExpiryMs: 3_000 };
const LOOP_ROTATIONS = 3;

const fixtures = fixturesBeforeAll(8);

async function withClient(
  managerOptions: { lifetimeMs: number; refreshBeforeExpiryMs: number },
  test: (setup: Setup) => Promise<void>,
) {
  const fixture = fixtures.take();
  try {
    const manager = fixture.manager(managerOptions);
    const client = newClient(manager, fixture);
    const errors = collectErrors(client);
    try {
      await client.connect();
      await test({ fixture, manager, client, errors });
    } finally {
      closeClient(client);
    }
  } finally {
    await fixture.stop();
  }
}

/** The server's view of the test's only connection. */
function connection({ fixture }: { fixture: Fixture }): ConnectionStats {
  const found = connectionOf(fixture.server, fixture.objectId);
  if (found === undefined) throw new Error("the client has no connection on the server");
  return found;
}

/**
 * Sends MULTI by hand, queues a SET and an INCR, and holds the transaction open until the manager
 * has handed new credentials to the connection, but not until the old token's expiry. Then queues
 * a PING: its reply comes after that of any AUTH the connection sent before it, so the server's
 * counters show by then whether one came. Returns the server's view of the connection before and
 * at that point.
 */
async function holdTransactionAcrossRotation(
  setup: {
    fixture: Fixture;
    manager: TokenManager;
    client: { sendCommand: Client["sendCommand"] };
  },
  key: string,
  /** Sent right after MULTI, inside the transaction. */
  afterMulti?: () => Promise<void>,
) {
  const { manager, client } = setup;
  const before = connection(setup);
  expect(before.authSuccesses).toBe(1);
  const delivered = nextDelivery(manager);
  expect(await client.sendCommand(["MULTI"])).toBe("OK");
  await afterMulti?.();
  expect(await client.sendCommand(["SET", key, "value"])).toBe("QUEUED");
  expect(await client.sendCommand(["INCR", `${key}:counter`])).toBe("QUEUED");
  await delivered;
  expect(await client.sendCommand(["PING"])).toBe("QUEUED");
  const during = connection(setup);
  // The same connection, on its first token, which has not expired yet.
  expect(during.id).toBe(before.id);
  expect(during.expiresAt).toBe(before.expiresAt);
  expect(Date.now()).toBeLessThan(during.expiresAt!);
  return { before, during };
}

/**
 * After EXEC/DISCARD the held-back AUTH goes out: the same connection gets a later deadline, and
 * lives on past the first token's expiry.
 */
async function expectReauthenticatedInPlace(setup: Setup, before: ConnectionStats) {
  const { fixture, client, errors } = setup;
  await waitFor(
    () => connection(setup).authSuccesses >= 2,
    "the re-AUTH after the transaction",
    5_000,
  );
  const after = connection(setup);
  expect(after.id).toBe(before.id);
  expect(after.expiresAt!).toBeGreaterThan(before.expiresAt!);
  await waitFor(() => Date.now() > before.expiresAt! + 300, "the first token's expiry", 20_000);
  expect(await client.ping()).toBe("PONG");
  expect(connection(setup).id).toBe(before.id);
  const stats = fixture.server.stats();
  expect(stats.closedAtExpiry).toBe(0);
  expect(stats.authNotApplied).toEqual({});
  expect(stats.authRejected).toEqual({});
  expect(describeErrors(errors)).toEqual([]);
}

/** Collects what a loop of transactions saw: how many ran, and any EXEC that did not add up. */
function transactionLoop(step: (iteration: number) => Promise<unknown>) {
  const mismatches: string[] = [];
  const loop = runLoop(async (iteration) => {
    const problem = await step(iteration);
    if (typeof problem === "string") mismatches.push(problem);
  });
  return { loop, mismatches };
}

/** Runs `steps` back to back across `count` rotations; checks the connection was renewed in place. */
async function acrossRotations(
  setup: Setup,
  count: number,
  step: (iteration: number) => Promise<string | undefined>,
) {
  const { fixture, manager, errors } = setup;
  const before = connection(setup);
  const started = Date.now();
  const { loop, mismatches } = transactionLoop(step);
  let rotated = 0;
  const onRefreshed = () => rotated++;
  manager.on("refreshed", onRefreshed);
  await rotations(manager, count);
  // The last rotation's AUTH reaches the connection (after the transaction it met, if any).
  await nextDelivery(manager);
  await sleep(200);
  await loop.stop();
  const seconds = (Date.now() - started) / 1000;
  manager.off("refreshed", onRefreshed);

  const stats = fixture.server.stats();
  expect(stats.authNotApplied.queued ?? 0).toBe(0);
  expect(stats.authNotApplied).toEqual({});
  expect(stats.authRejected).toEqual({});
  expect(stats.closedAtExpiry).toBe(0);
  expect(describeErrors(loop.errors)).toEqual([]);
  expect(mismatches).toEqual([]);
  expect(loop.succeeded).toBeGreaterThan(count);
  const after = connection(setup);
  expect(after.id).toBe(before.id);
  // One AUTH per rotation reached the connection, and Redis applied every one of them.
  expect(after.authSuccesses - before.authSuccesses).toBeGreaterThanOrEqual(rotated);
  expect(describeErrors(errors)).toEqual([]);
  return { transactions: loop.succeeded, rotations: rotated, seconds };
}

test.concurrent(`MULTI sent by hand, back to back across ${LOOP_ROTATIONS} rotations: no AUTH queued inside, every EXEC returns the queued results`, async () => {
  await withClient(LOOP, async (setup) => {
    const { client } = setup;
    let openMs = 0;
    const figures = await acrossRotations(setup, LOOP_ROTATIONS, async (iteration) => {
      const key = `hand:${iteration}`;
      // Open most of the time (a transaction stays open about 60 ms, with no gap between), so
      // that the rotations' AUTHs come while one is open.
      const opened = Date.now();
      expect(await client.sendCommand(["MULTI"])).toBe("OK");
      await client.sendCommand(["SET", key, `v${iteration}`]);
      await sleep(20);
      await client.sendCommand(["INCR", "hand:counter"]);
      await sleep(20);
      await client.sendCommand(["RPUSH", `${key}:list`, "a", "b"]);
      await sleep(20);
      await client.sendCommand(["GET", key]);
      const replies = await client.sendCommand(["EXEC"]);
      openMs += Date.now() - opened;
      const expected = ["OK", iteration + 1, 2, `v${iteration}`];
      if (JSON.stringify(replies) !== JSON.stringify(expected)) {
        return `EXEC ${iteration} returned ${JSON.stringify(replies)}, not ${JSON.stringify(expected)}`;
      }
      return undefined;
    });
    // Transactions were open nearly all the time: the AUTHs could not have missed them.
    const openShare = openMs / 1000 / figures.seconds;
    expect(openShare).toBeGreaterThan(0.8);
    report("node-redis transactions by hand", {
      ...figures,
      openShare: Math.round(openShare * 100) / 100,
    });
  });
}, 30_000);

test.concurrent(`multi().exec() chains back to back across ${LOOP_ROTATIONS} rotations: no AUTH queued inside, every exec returns the queued results`, async () => {
  await withClient(LOOP, async (setup) => {
    const { client } = setup;
    const figures = await acrossRotations(setup, LOOP_ROTATIONS, async (iteration) => {
      const key = `chain:${iteration}`;
      const replies = await client
        .multi()
        .set(key, `v${iteration}`)
        .incr("chain:counter")
        .rPush(`${key}:list`, ["a", "b"])
        .get(key)
        .exec();
      const expected = ["OK", iteration + 1, 2, `v${iteration}`];
      if (JSON.stringify(replies) !== JSON.stringify(expected)) {
        return `exec ${iteration} returned ${JSON.stringify(replies)}, not ${JSON.stringify(expected)}`;
      }
      return undefined;
    });
    report("node-redis multi().exec()", figures);
  });
}, 30_000);

test.concurrent("a MULTI sent by hand held past the token's expiry: the server closes the connection, EXEC fails on the new one, and the client carries on", async () => {
  // Tokens of 4 s, so that the expiry comes soon; refreshed halfway.
  await withClient({ lifetimeMs: 4_000, refreshBeforeExpiryMs: 2_000 }, async (setup) => {
    const { fixture, client, errors } = setup;
    const before = connection(setup);
    expect(await client.sendCommand(["MULTI"])).toBe("OK");
    expect(await client.sendCommand(["SET", "tx:late", "value"])).toBe("QUEUED");
    // The re-AUTH waits for EXEC, so the server closes the connection when its token expires.
    await waitFor(() => fixture.server.stats().closedAtExpiry === 1, "the close at expiry", 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(before.expiresAt!);
    // (The server counts the close before the client hears of it: wait for the client's side.)
    await waitFor(
      () =>
        errors.length > 0 &&
        client.isReady &&
        (connectionOf(fixture.server, fixture.objectId)?.id ?? before.id) !== before.id,
      "the client to reconnect",
      5_000,
    );
    // What the user sees: node-redis reconnected with current credentials, and EXEC goes to the
    // new connection, where no transaction is open.
    await expect(client.sendCommand(["EXEC"])).rejects.toThrow(/EXEC without MULTI/);
    expect(await client.get("tx:late")).toBeNull();
    // The new connection is a normal, authenticated one that keeps being renewed in place.
    const after = connection(setup);
    expect(after.id).not.toBe(before.id);
    await waitFor(
      () => connection(setup).authSuccesses >= 2,
      "a re-AUTH of the new connection",
      10_000,
    );
    expect(await client.ping()).toBe("PONG");
    expect(connection(setup).id).toBe(after.id);
    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(1);
    expect(stats.authNotApplied).toEqual({});
    // No reconnect presented the expired token.
    expect(stats.authRejected).toEqual({});
    // node-redis reported the close itself, and nothing else.
    expect(errors).toHaveLength(1);
    expect(isConnectionLost(errors[0])).toBe(true);
  });
});

test.concurrent("EXEC of a MULTI sent by hand across a rotation returns exactly the queued replies; the re-AUTH follows it", async () => {
  await withClient(HOLD, async (setup) => {
    const { before, during } = await holdTransactionAcrossRotation(setup, "tx:exec");
    // No AUTH reached the server inside the transaction: it waits for EXEC.
    expect(during.authAttempts).toBe(1);
    expect(setup.fixture.server.stats().authNotApplied).toEqual({});
    // Three commands queued, three replies: no reply of an AUTH queued inside.
    expect(await setup.client.sendCommand(["EXEC"])).toEqual(["OK", 1, "PONG"]);
    expect(await setup.client.get("tx:exec")).toBe("value");
    await expectReauthenticatedInPlace(setup, before);
  });
});

test.concurrent("DISCARD of a MULTI sent by hand across a rotation discards the queued commands; the re-AUTH follows it", async () => {
  await withClient(HOLD, async (setup) => {
    const { before, during } = await holdTransactionAcrossRotation(setup, "tx:discard");
    expect(during.authAttempts).toBe(1);
    expect(setup.fixture.server.stats().authNotApplied).toEqual({});
    expect(await setup.client.sendCommand(["DISCARD"])).toBe("OK");
    expect(await setup.client.exists(["tx:discard", "tx:discard:counter"])).toBe(0);
    await expectReauthenticatedInPlace(setup, before);
  });
});

test.concurrent("a MULTI sent by hand through a command-options view of the client (withCommandOptions) holds the re-AUTH too", async () => {
  await withClient(HOLD, async (setup) => {
    // withCommandOptions, withTypeMapping, withAbortSignal and asap return views of the client
    // (Object.create of node-redis's instance); a transaction opened through one is just as open.
    const view = setup.client.withCommandOptions({});
    const { before, during } = await holdTransactionAcrossRotation(
      { ...setup, client: view },
      "tx:view",
    );
    expect(during.authAttempts).toBe(1);
    expect(setup.fixture.server.stats().authNotApplied).toEqual({});
    expect(await view.sendCommand(["EXEC"])).toEqual(["OK", 1, "PONG"]);
    await expectReauthenticatedInPlace(setup, before);
  });
});

test.concurrent("a nested MULTI, which Redis refuses while the transaction stays open, does not release the held re-AUTH", async () => {
  await withClient(HOLD, async (setup) => {
    const { before, during } = await holdTransactionAcrossRotation(setup, "tx:nested", () =>
      expect(setup.client.sendCommand(["MULTI"])).rejects.toThrow(/MULTI calls can not be nested/),
    );
    expect(during.authAttempts).toBe(1);
    expect(setup.fixture.server.stats().authNotApplied).toEqual({});
    expect(await setup.client.sendCommand(["EXEC"])).toEqual(["OK", 1, "PONG"]);
    await expectReauthenticatedInPlace(setup, before);
  });
});

test.concurrent("control: with node-redis's own createClient and a bare credentialsProvider, the re-AUTH lands inside a MULTI sent by hand", async () => {
  // What the factory's gate prevents, and what the server's counters detect: the same held-open
  // transaction, on a client whose sendCommand the adapter does not see.
  const fixture = fixtures.take();
  const manager = fixture.manager(HOLD);
  const provider = credentialsProvider(manager, { allowInsecureTransport: true });
  const client = redis.createClient({
    socket: { host: fixture.server.host, port: fixture.server.port },
    credentialsProvider: provider,
  });
  const errors = collectErrors(client);
  try {
    await client.connect();
    await holdTransactionAcrossRotation({ fixture, manager, client }, "tx:control");
    // Redis queued the AUTH into the transaction: the token was not renewed...
    expect(fixture.server.stats().authNotApplied).toEqual({ queued: 1 });
    expect(connection({ fixture }).authSuccesses).toBe(1);
    // ...and EXEC returns its reply among the user's.
    expect(await client.sendCommand(["EXEC"])).toEqual(["OK", 1, "OK", "PONG"]);
    expect(describeErrors(errors)).toEqual([]);
  } finally {
    closeClient(client);
    provider.dispose();
    await fixture.stop();
  }
});
