import { monitorEventLoopDelay } from "node:perf_hooks";
import type { TokenManager } from "@redis-credentials/core";
import type { TokenRedis } from "@redis-credentials/testing";
import * as redis from "redis";
import { createClient, createClientPool, credentialsProvider } from "../../src";
import { nodeRedisMajor, rotations, sleep, startFixture } from "./helpers";
import {
  afterRotations,
  authsByConnection,
  collectErrors,
  destroyQuietly,
  listenerCounts,
  misreads,
  nextRefresh,
  poolMembers,
  ROOMY_ROTATION,
  report,
  unexpectedErrors,
  waitFor,
  within,
} from "./pool-helpers";

/*
 * Every (re)connect authenticates with the manager's credentials of that moment, and each
 * connection keeps exactly one manager subscription however often it reconnects: node-redis calls
 * the provider's subscribe() on every reconnect and never disposes the previous subscription.
 */

const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
afterAll(() => {
  lag.disable();
  report(`event loop delay (node-redis ${nodeRedisMajor})`, {
    maxMs: Math.round(lag.max / 1e6),
    p99Ms: Math.round(lag.percentile(99) / 1e6),
  });
});

/** What these tests need of a node-redis connection (a client, a pool member, a duplicate). */
interface Connection {
  readonly isReady: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  eventNames(): (string | symbol)[];
  listenerCount(event: string | symbol): number;
}

/** Resolves on the connection's next `ready`. */
const nextReady = (connection: Connection) =>
  new Promise<void>((resolve) => connection.once("ready", () => resolve()));

/** What a killed connection may do to a command in flight: node-redis rejects it. */
const DROPPED_COMMAND = /Socket closed unexpectedly|ECONNRESET|EPIPE|Disconnects client/;

/** The server's connections must all hold a token at least as new as `floor` (epoch ms). */
function tokensNotOlderThan(server: TokenRedis, floor: number) {
  return server.connections().map((connection) => ({
    id: connection.id,
    authenticated: connection.expiresAt !== undefined,
    current: (connection.expiresAt ?? 0) >= floor,
  }));
}

/** The expiry of the manager's credentials right now. */
function currentExpiry(manager: TokenManager): number {
  const expiresAt = manager.peekCredentials()?.expiresAt;
  if (expiresAt === undefined) throw new Error("the manager holds no valid credentials");
  return expiresAt;
}

test.concurrent("the first connect and every reconnect, killed at random across 3 rotations, present the manager's current credentials", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager(ROOMY_ROTATION);
  const subscriberErrors: unknown[] = [];
  manager.on("subscriberError", (error) => subscriberErrors.push(error));
  const socket = { host: fixture.server.host, port: fixture.server.port };
  const client = createClient(manager, { socket, RESP: 3, allowInsecureTransport: true });
  const pool = createClientPool(
    manager,
    { socket, RESP: 3, allowInsecureTransport: true },
    { minimum: 2, maximum: 2 },
  );
  // RESP3 subscribers re-AUTH in place; RESP2 ones are reconnected by the adapter at each
  // rotation (reconnects.test.ts's concern is the user's reconnects, not those).
  const subscriber = createClient(manager, { socket, RESP: 3, allowInsecureTransport: true });
  const provider = credentialsProvider(manager, { allowInsecureTransport: true });
  const bare = redis.createClient({ socket, RESP: 2, credentialsProvider: provider });
  const copy = bare.duplicate();
  const errors = {
    client: collectErrors(client),
    pool: collectErrors(pool),
    subscriber: collectErrors(subscriber),
    bare: collectErrors(bare),
    copy: collectErrors(copy),
  };
  let stop = false;
  const settled: Promise<unknown>[] = [];
  try {
    const first = await manager.getCredentials();
    await within(
      Promise.all([client.connect(), pool.connect(), subscriber.connect(), bare.connect()]),
      10_000,
      "the connects",
    );
    await within(copy.connect(), 10_000, "the duplicate's connect");
    const members = await poolMembers(pool, 2);
    const connections: Connection[] = [client, ...members, subscriber, bare, copy];
    const LIVE = connections.length;
    let messages = 0;
    await subscriber.subscribe("events", () => messages++);

    // The first connect of each presented the manager's credentials of that moment (or newer
    // ones, should a rotation have come meanwhile).
    expect(tokensNotOlderThan(fixture.server, first.expiresAt)).toEqual(
      connections.map(() => expect.objectContaining({ authenticated: true, current: true })),
    );

    const failures: Error[] = [];
    let commands = 0;
    const traffic = (async () => {
      while (!stop) {
        const results = await within(
          Promise.allSettled([
            client.incr("counter"),
            pool.get("counter"),
            bare.publish("events", "tick"),
            copy.ping(),
          ]),
          5_000,
          "the commands to settle",
        );
        for (const result of results) {
          if (result.status === "rejected") failures.push(result.reason);
          else commands++;
        }
        await sleep(10);
      }
    })();
    settled.push(traffic);

    let kills = 0;
    let killed = 0;
    const stale: unknown[] = [];
    const killer = (async () => {
      while (!stop) {
        await sleep(100 + Math.random() * 300);
        if (stop) break;
        const floor = currentExpiry(manager);
        const readies = connections.map(nextReady);
        killed += fixture.server.killConnections();
        kills++;
        await within(Promise.all(readies), 5_000, `every connection back after kill ${kills}`);
        // Every connection is back, each with a token no older than the one current at the kill.
        const tokens = tokensNotOlderThan(fixture.server, floor);
        if (tokens.length !== LIVE || tokens.some((t) => !t.authenticated || !t.current)) {
          stale.push({ kill: kills, tokens });
        }
      }
    })();
    settled.push(killer);

    await afterRotations(manager, 3);
    stop = true;
    await Promise.all(settled);

    expect(stale).toEqual([]);
    expect(await client.ping()).toBe("PONG");
    expect(await pool.ping()).toBe("PONG");
    expect(await copy.ping()).toBe("PONG");
    const before = messages;
    await waitFor(
      async () => (await bare.publish("events", "last")) === 1,
      "the subscriber to be back",
      2_000,
    );
    await waitFor(() => messages > before, "the last message", 2_000);

    const stats = fixture.server.stats();
    // The server dropped every connection many times, across 3 rotations...
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(killed).toBe(kills * LIVE);
    // ...and not one AUTH was refused: no expired token, no token of another kind...
    expect(stats.authRejected.expired ?? 0).toBe(0);
    expect(stats.authRejected).toEqual({});
    expect(stats.authNotApplied).toEqual({});
    // ...no connection outlived its token, and the rotations reached every connection.
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.connections).toBe(LIVE);
    expect(subscriberErrors).toEqual([]);
    // node-redis does not re-send a command written before the drop: only those failed.
    expect(commands).toBeGreaterThan(100);
    expect(failures.map((f) => f.message).filter((m) => !DROPPED_COMMAND.test(m))).toEqual([]);
    expect(unexpectedErrors(errors)).toEqual([]);
    report(`reconnects at random (node-redis ${nodeRedisMajor})`, {
      kills,
      killed,
      commands,
      failedCommands: failures.length,
      nodeRedis5Misreads: misreads(errors),
      authAttempts: stats.authAttempts,
      authSuccesses: stats.authSuccesses,
    });
  } finally {
    stop = true;
    await Promise.allSettled(settled);
    for (const each of [client, subscriber, bare, copy]) destroyQuietly(each);
    destroyQuietly(pool);
    await fixture.stop();
  }
});

test.concurrent("a connection killed right before or right at a rotation, or dropping over and over while its re-AUTHs are in flight, never presents an expired token", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager(ROOMY_ROTATION);
  const subscriberErrors: unknown[] = [];
  manager.on("subscriberError", (error) => subscriberErrors.push(error));
  // Reconnect at once: as many reconnects as possible while a token is about to expire.
  const socket = { host: fixture.server.host, port: fixture.server.port, reconnectStrategy: 0 };
  const client = createClient(manager, { socket, RESP: 3, allowInsecureTransport: true });
  const provider = credentialsProvider(manager, { allowInsecureTransport: true });
  const bare = redis.createClient({ socket, RESP: 2, credentialsProvider: provider });
  const errors = { client: collectErrors(client), bare: collectErrors(bare) };
  const connections: Connection[] = [client, bare];
  const expiries = () => fixture.server.connections().map((connection) => connection.expiresAt);
  let flapping = false;
  try {
    await within(Promise.all([client.connect(), bare.connect()]), 10_000, "the connects");

    // 1. Killed just before a rotation: the reconnect presents the token still current (valid
    // for three more seconds), and the rotation's re-AUTH reaches the new connection.
    await afterRotations(manager, 1);
    const nextRefreshAt = manager.status().nextRefreshAt!;
    await sleep(Math.max(0, nextRefreshAt - Date.now() - 150));
    const beforeRotation = currentExpiry(manager);
    let readies = connections.map(nextReady);
    const rotated = nextRefresh(manager);
    expect(fixture.server.killConnections()).toBe(2);
    await within(Promise.all(readies), 5_000, "both connections back after the kill");
    const killedBefore = expiries();
    const newToken = (await rotated).expiresAt;
    expect(newToken).toBeGreaterThan(beforeRotation);
    // Whichever token the handshake had, both connections get the new one before it expires.
    await waitFor(
      () => expiries().every((expiresAt) => expiresAt === newToken),
      "both connections to hold the new token",
      Math.max(0, beforeRotation - Date.now()),
    );
    expect(expiries()).toEqual([newToken, newToken]);

    // 2. Killed in the very tick the new credentials arrive: the reconnect presents them.
    const previous = currentExpiry(manager);
    let killedAtRotation = 0;
    const onRefreshed = () => {
      manager.off("refreshed", onRefreshed);
      readies = connections.map(nextReady);
      killedAtRotation = fixture.server.killConnections();
    };
    manager.on("refreshed", onRefreshed);
    const atRotation = (await nextRefresh(manager)).expiresAt;
    expect(killedAtRotation).toBe(2);
    await within(
      Promise.all(readies),
      5_000,
      "both connections back after the kill at the rotation",
    );
    expect(expiries()).toEqual([atRotation, atRotation]);

    // 3. Then the connections drop right after every reconnect until the previous token (the
    // one of any re-AUTH queued before the rotation) has expired.
    let reconnects = 0;
    const flap = () => {
      if (!flapping) return;
      reconnects++;
      fixture.server.killConnections();
    };
    for (const connection of connections) connection.on("ready", flap);
    flapping = true;
    fixture.server.killConnections();
    await waitFor(() => Date.now() > previous + 300, "the previous token's expiry", 6_000);
    flapping = false;
    for (const connection of connections) connection.off("ready", flap);
    await waitFor(
      () => client.isReady && bare.isReady && fixture.server.stats().connections === 2,
      "both connections to settle",
      5_000,
    );
    expect(await client.ping()).toBe("PONG");
    expect(await bare.ping()).toBe("PONG");
    const latest = currentExpiry(manager);
    expect(expiries().every((expiresAt) => expiresAt !== undefined && expiresAt >= latest)).toBe(
      true,
    );

    expect(reconnects).toBeGreaterThanOrEqual(10);
    const stats = fixture.server.stats();
    // Not once was a token presented after it had expired...
    expect(stats.authRejected.expired ?? 0).toBe(0);
    expect(stats.authRejected).toEqual({});
    expect(stats.closedAtExpiry).toBe(0);
    // ...nor did the user see any failure but the drops themselves.
    expect(provider.status().reauthFailures).toBe(0);
    expect(subscriberErrors).toEqual([]);
    expect(unexpectedErrors(errors)).toEqual([]);
    report(`reconnects around a rotation (node-redis ${nodeRedisMajor})`, {
      reconnects,
      nodeRedis5Misreads: misreads(errors),
      handshakeBeforeRotation: killedBefore.map((expiresAt) =>
        expiresAt === beforeRotation ? "old token" : "new token",
      ),
      authAttempts: stats.authAttempts,
    });
  } finally {
    flapping = false;
    destroyQuietly(client);
    destroyQuietly(bare);
    await fixture.stop();
  }
});

const POOL_SIZE = 3;
const KILLS = 100;
const ROTATIONS = 2;

test.concurrent.each([3, 2] as const)(
  "RESP%i: exactly one AUTH per live connection per rotation after 100 reconnects of each connection, with no growth in listeners or subscriptions",
  async (resp) => {
    const fixture = await startFixture();
    const manager = fixture.manager(ROOMY_ROTATION);
    const subscriberErrors: unknown[] = [];
    manager.on("subscriberError", (error) => subscriberErrors.push(error));
    // Reconnect at once: 100 reconnects of each connection in a second or two.
    const socket = { host: fixture.server.host, port: fixture.server.port, reconnectStrategy: 0 };
    // The adapter's factories...
    const client = createClient(manager, { socket, RESP: resp, allowInsecureTransport: true });
    const pool = createClientPool(
      manager,
      { socket, RESP: resp, allowInsecureTransport: true },
      { minimum: POOL_SIZE, maximum: POOL_SIZE },
    );
    // ...and a bare provider in node-redis's own createClient, shared by a duplicate: what
    // @redis/entraid gets wrong (one more listener, and one more AUTH per rotation, per reconnect).
    const provider = credentialsProvider(manager, { allowInsecureTransport: true });
    const reAuthErrors: Error[] = [];
    provider.onReAuthenticationError = (error) => reAuthErrors.push(error);
    const bare = redis.createClient({ socket, RESP: resp, credentialsProvider: provider });
    const copy = bare.duplicate();
    const errors = {
      client: collectErrors(client),
      pool: collectErrors(pool),
      bare: collectErrors(bare),
      copy: collectErrors(copy),
    };
    try {
      await within(
        Promise.all([client.connect(), pool.connect(), bare.connect()]),
        10_000,
        "the connects",
      );
      await within(copy.connect(), 10_000, "the duplicate's connect");
      const members = await poolMembers(pool, POOL_SIZE);
      const connections: Connection[] = [client, ...members, bare, copy];
      const LIVE = connections.length;
      const readyCounts = connections.map(() => 0);
      for (const [index, connection] of connections.entries()) {
        connection.on("ready", () => {
          readyCounts[index]!++;
        });
      }
      const cycle = async () => {
        const readies = connections.map(nextReady);
        expect(fixture.server.killConnections()).toBe(LIVE);
        await within(Promise.all(readies), 5_000, "every connection back after a kill");
      };
      // A few cycles first, so that whatever node-redis sets up on the first reconnect is counted.
      for (let i = 0; i < 3; i++) await cycle();
      const listeners = connections.map((connection) => listenerCounts(connection));
      const poolListeners = listenerCounts(pool);
      const subscribers = manager.status().counters.subscribers;
      expect(subscribers).toBe(LIVE);
      expect(provider.status()).toMatchObject({ connections: 2, unidentified: 0 });

      for (let i = 0; i < KILLS; i++) await cycle();

      // Every connection reconnected 103 times...
      expect(Math.min(...readyCounts)).toBeGreaterThanOrEqual(KILLS + 3);
      expect(fixture.server.stats().connections).toBe(LIVE);
      // ...and holds what it held before: its listeners, one manager subscription.
      expect(connections.map((connection) => listenerCounts(connection))).toEqual(listeners);
      expect(listenerCounts(pool)).toEqual(poolListeners);
      expect(manager.status().counters.subscribers).toBe(subscribers);
      expect(provider.status()).toMatchObject({ connections: 2, unidentified: 0 });
      expect(pool.totalClients).toBe(POOL_SIZE);

      // From a quiet moment after the next rotation (its staggered AUTHs all landed), count what
      // the server receives over the following rotations.
      const quiet = async (count: number) => {
        await rotations(manager, count);
        const expiresAt = currentExpiry(manager);
        await waitFor(
          () => fixture.server.connections().every((c) => c.expiresAt === expiresAt),
          "every connection to hold the new token",
          Math.max(0, expiresAt - ROOMY_ROTATION.refreshBeforeExpiryMs - Date.now()),
        );
        // Time for any AUTH beyond the one expected to arrive too.
        await sleep(300);
        return manager.status().counters.refreshes;
      };
      const refreshesBefore = await quiet(1);
      const before = fixture.server.stats();
      const authsBefore = authsByConnection(fixture.server);
      const seen = (await quiet(ROTATIONS)) - refreshesBefore;
      const after = fixture.server.stats();
      const authsAfter = authsByConnection(fixture.server);
      expect(seen).toBeGreaterThanOrEqual(ROTATIONS);

      // The same connections (none dropped, none added)...
      const byId = (a: number, b: number) => a - b;
      expect([...authsAfter.keys()].sort(byId)).toEqual([...authsBefore.keys()].sort(byId));
      expect(authsAfter.size).toBe(LIVE);
      // ...each received exactly one AUTH per rotation, and the server nothing else.
      expect([...authsAfter].map(([id, auths]) => auths - authsBefore.get(id)!)).toEqual(
        connections.map(() => seen),
      );
      expect(after.authAttempts - before.authAttempts).toBe(LIVE * seen);
      expect(after.authSuccesses - before.authSuccesses).toBe(LIVE * seen);
      expect(after.authRejected).toEqual({});
      expect(after.authNotApplied).toEqual({});
      expect(after.closedAtExpiry).toBe(0);
      // Still flat.
      expect(connections.map((connection) => listenerCounts(connection))).toEqual(listeners);
      expect(manager.status().counters.subscribers).toBe(subscribers);
      expect(provider.status()).toMatchObject({
        connections: 2,
        unidentified: 0,
        reauthFailures: 0,
      });

      expect(await client.ping()).toBe("PONG");
      expect(await pool.ping()).toBe("PONG");
      expect(await bare.ping()).toBe("PONG");
      expect(await copy.ping()).toBe("PONG");
      expect(subscriberErrors).toEqual([]);
      expect(reAuthErrors).toEqual([]);
      expect(unexpectedErrors(errors)).toEqual([]);
      report(`one AUTH per connection per rotation, RESP${resp} (node-redis ${nodeRedisMajor})`, {
        liveConnections: LIVE,
        reconnectsPerConnection: Math.min(...readyCounts),
        nodeRedis5Misreads: misreads(errors),
        authsInWindow: after.authAttempts - before.authAttempts,
        rotations: seen,
        subscribers,
        listeners: listeners[0],
      });
    } finally {
      for (const each of [client, bare, copy]) destroyQuietly(each);
      destroyQuietly(pool);
      await fixture.stop();
    }
  },
);
