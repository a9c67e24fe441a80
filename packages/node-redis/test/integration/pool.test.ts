import {
  type CredentialSource,
  CredentialsError,
  CredentialsFetchError,
  createTokenManager,
  isPermanent,
  markPermanent,
  type TokenManager,
} from "@redis-credentials/core";
import type { TokenRedis } from "@redis-credentials/testing";
import * as redis from "redis";
import { createClient, createClientPool, createCluster } from "../../src";
import { fastRotation, nodeRedisMajor, sleep, startFixture } from "./helpers";
import {
  collectErrors,
  destroyQuietly,
  nextRefresh,
  ROOMY_ROTATION,
  report,
  waitFor,
  within,
} from "./pool-helpers";

/*
 * Pools: every member, including the ones a pool adds under load, is kept authenticated by AUTH
 * before its token expires. And a failed first fetch fails every pending connect (client, pool,
 * cluster) with the typed error instead of node-redis's retry loop or its wrappers.
 */

interface Snapshot {
  /** Rotations the manager had made when it was taken. */
  refreshes: number;
  /** Every live connection: its AUTH successes and its token's expiry. */
  connections: Map<number, { auths: number; expiresAt: number | undefined }>;
}

/** The server's view of every live connection, once all of them hold the manager's token. */
async function settledSnapshot(server: TokenRedis, manager: TokenManager): Promise<Snapshot> {
  const current = manager.peekCredentials()?.expiresAt;
  await waitFor(
    () => server.connections().every((c) => c.expiresAt === current),
    "every connection to hold the current token",
    Math.max(0, (current ?? 0) - Date.now()),
  );
  return {
    refreshes: manager.status().counters.refreshes,
    connections: new Map(
      server.connections().map((c) => [c.id, { auths: c.authSuccesses, expiresAt: c.expiresAt }]),
    ),
  };
}

/**
 * Waits for the manager's next rotation (unless one came since `before`), then until every
 * connection holds the new token, which each must get by AUTH on the same connection before the
 * token it had expires; returns how many AUTHs each got meanwhile, one per rotation expected.
 */
async function everyConnectionRotated(
  server: TokenRedis,
  manager: TokenManager,
  before: Snapshot,
): Promise<{ after: Snapshot; reauths: number[]; rotations: number }> {
  if (manager.status().counters.refreshes === before.refreshes) await nextRefresh(manager);
  const after = await settledSnapshot(server, manager);
  // The same connections: none was closed (at expiry or otherwise), none added.
  const ids = (snapshot: Snapshot) => [...snapshot.connections.keys()].sort((a, b) => a - b);
  expect(ids(after)).toEqual(ids(before));
  return {
    after,
    reauths: [...after.connections].map(([id, c]) => c.auths - before.connections.get(id)!.auths),
    rotations: after.refreshes - before.refreshes,
  };
}

test.concurrent("every pool member, including those the pool adds under load, gets each new token by AUTH before the old one expires, across 4 rotations of traffic", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager(ROOMY_ROTATION);
  const subscriberErrors: unknown[] = [];
  manager.on("subscriberError", (error) => subscriberErrors.push(error));
  const pool = createClientPool(
    manager,
    {
      socket: { host: fixture.server.host, port: fixture.server.port },
      allowInsecureTransport: true,
    },
    // Members added under load stay (no cleanup during the test), so they live through rotations.
    { minimum: 2, maximum: 6, cleanupDelay: 60_000 },
  );
  const errors = collectErrors(pool);
  let stop = false;
  const failures: unknown[] = [];
  let commands = 0;
  let traffic: Promise<void> | undefined;
  try {
    await within(pool.connect(), 10_000, "the pool to connect");
    expect(pool.totalClients).toBe(2);
    traffic = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const [count] = await within(
            Promise.all([pool.incr("counter"), pool.set(`key:${i % 10}`, String(i))]),
            5_000,
            "the pool's commands",
          );
          if (typeof count === "number") commands += 2;
        } catch (error) {
          failures.push(error);
        }
        await sleep(5);
      }
    })();

    // Rotation 1: the two members re-AUTH in place, before the old token expires.
    const first = await everyConnectionRotated(
      fixture.server,
      manager,
      await settledSnapshot(fixture.server, manager),
    );
    expect(first.reauths).toEqual(Array(2).fill(first.rotations));
    const original = new Set(first.after.connections.keys());

    // Load: blocking commands hold members, so the pool grows to its maximum.
    const burst = await within(
      Promise.all(Array.from({ length: 8 }, (_, i) => pool.blPop(`empty:${i}`, 0.3))),
      10_000,
      "the burst of blocking commands",
    );
    expect(burst).toEqual(burst.map(() => null));
    expect(pool.totalClients).toBe(6);
    await waitFor(() => fixture.server.connections().length === 6, "six connections", 2_000);
    // One manager subscription per member.
    expect(manager.status().counters.subscribers).toBe(6);
    // The new members authenticated when they connected, with a token the server accepted.
    let previous = await settledSnapshot(fixture.server, manager);
    const added = [...previous.connections.keys()].filter((id) => !original.has(id));
    expect(added).toHaveLength(4);

    // Rotations 2 to 4: every member, old and new, gets each new token by AUTH in place.
    const perRotation: number[][] = [];
    let rotated = 1;
    while (rotated < 4) {
      const { after, reauths, rotations } = await everyConnectionRotated(
        fixture.server,
        manager,
        previous,
      );
      // Exactly one AUTH per rotation on each of the six.
      expect(reauths).toEqual(Array(6).fill(rotations));
      perRotation.push(reauths);
      rotated += rotations;
      previous = after;
    }
    stop = true;
    await traffic;
    expect(Number(await pool.get("counter"))).toBe(commands / 2);
    // The grown members stay until cleanupDelay: close() clears that timer (destroy() does not).
    await within(pool.close(), 5_000, "the pool to close");
    await waitFor(() => fixture.server.stats().connections === 0, "the members to hang up", 2_000);

    // Every command through the pool succeeded, and no connection outlived its token.
    expect(failures).toEqual([]);
    expect(commands).toBeGreaterThan(100);
    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    expect(stats.authNotApplied).toEqual({});
    expect(errors).toEqual([]);
    expect(subscriberErrors).toEqual([]);
    report(`pool members across rotations (node-redis ${nodeRedisMajor})`, {
      commands,
      members: pool.totalClients,
      addedUnderLoad: added.length,
      rotations: rotated,
      authSuccesses: stats.authSuccesses,
      perRotation,
    });
  } finally {
    stop = true;
    await traffic?.catch(() => {});
    destroyQuietly(pool);
    // destroy() leaves the pool's cleanup timer (cleanupDelay) running: clear it.
    clearTimeout((pool as { cleanupTimeout?: NodeJS.Timeout }).cleanupTimeout);
    await fixture.stop();
  }
});

/** A source that fails every fetch (after `delayMs`), counting them. */
function failingSource(kind: "permanent" | "plain", delayMs = 50) {
  const source = {
    name: `failing-${kind}`,
    fetches: 0,
    async fetch() {
      source.fetches++;
      await sleep(delayMs);
      const error = new Error(`the identity provider refused the request (${kind}, test)`);
      throw kind === "permanent" ? markPermanent(error) : error;
    },
  } satisfies CredentialSource & { fetches: number };
  return source;
}

/** What `promise` rejected with (it must reject, and within `ms`). */
async function rejection(promise: Promise<unknown>, what: string, ms = 5_000): Promise<unknown> {
  try {
    await within(promise, ms, what);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith(`timed out after ${ms} ms`)) throw error;
    return error;
  }
  throw new Error(`${what} resolved: it should have rejected`);
}

/** Unhandled rejections while `body` runs (the test setup would throw them elsewhere). */
async function noticingUnhandled(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", listener);
  try {
    await body();
    // Rejections are reported as unhandled after the microtask queue drains.
    await sleep(100);
  } finally {
    process.off("unhandledRejection", listener);
  }
  return unhandled;
}

/** The typed error of a failed first fetch, and nothing of node-redis's wrappers. */
function expectTypedFetchError(error: unknown, kind: "permanent" | "plain") {
  expect(error).toBeInstanceOf(CredentialsError);
  expect(error).toBeInstanceOf(CredentialsFetchError);
  expect(error).not.toBeInstanceOf(redis.ReconnectStrategyError);
  expect(error).not.toBeInstanceOf(redis.RootNodesUnavailableError);
  expect((error as Error).message).toContain(`refused the request (${kind}, test)`);
  expect(isPermanent(error)).toBe(kind === "permanent");
}

/** Errors node-redis reports while a connect fails: the typed error, or its wrapper. */
function typedOrWrapped(error: Error): unknown {
  return (error as { originalError?: unknown }).originalError ?? error;
}

const CLUSTER = { masters: 3 };

test.concurrent.each(["permanent", "plain"] as const)(
  "a %s failure of the first fetch rejects createClient, createClientPool and createCluster connects with the typed error; none retries or sends an AUTH",
  async (kind) => {
    const [standalone, clustered] = await Promise.all([
      startFixture(),
      startFixture({ cluster: CLUSTER }),
    ]);
    const source = failingSource(kind);
    const manager = createTokenManager(source, fastRotation);
    const socket = { host: standalone.server.host, port: standalone.server.port };
    const client = createClient(manager, { socket, allowInsecureTransport: true });
    const pool = createClientPool(
      manager,
      { socket, allowInsecureTransport: true },
      { minimum: 3 },
    );
    const cluster = createCluster(manager, {
      rootNodes: clustered.server.nodes.map(({ host, port }) => ({ socket: { host, port } })),
      allowInsecureTransport: true,
    });
    const errors = {
      client: collectErrors(client),
      pool: collectErrors(pool),
      cluster: collectErrors(cluster),
    };
    const failed: Record<string, unknown> = {};
    const took: Record<string, number> = {};
    try {
      const unhandled = await noticingUnhandled(async () => {
        for (const [name, target] of Object.entries({ client, pool, cluster })) {
          const started = Date.now();
          failed[name] = await rejection(target.connect(), `${name}.connect() to reject`);
          took[name] = Date.now() - started;
        }
      });
      expect(unhandled).toEqual([]);
      for (const error of Object.values(failed)) expectTypedFetchError(error, kind);
      // Each connect asked the manager, which fetched once per connect (it keeps no retry loop
      // without credentials), and nothing was retried afterwards.
      const fetches = source.fetches;
      expect(fetches).toBeGreaterThanOrEqual(3);
      expect(client.isOpen).toBe(false);
      expect(pool.isOpen).toBe(false);
      expect(cluster.isOpen).toBe(false);
      await sleep(500);
      expect(source.fetches).toBe(fetches);
      // No token, no connection left: nothing reached either server but the failed attempts.
      for (const server of [standalone.server, clustered.server]) {
        const stats = server.stats();
        expect(stats.authAttempts).toBe(0);
        expect(stats.connections).toBe(0);
      }
      // What the clients reported on `error` is the same typed failure (node-redis may wrap it).
      for (const [name, list] of Object.entries(errors)) {
        for (const error of list) {
          expect([name, typedOrWrapped(error)]).toEqual([name, expect.any(CredentialsFetchError)]);
        }
      }
      expect(manager.status().counters.subscribers).toBe(0);
      report(`failed first fetch, ${kind} (node-redis ${nodeRedisMajor})`, {
        rejectedInMs: took,
        fetches,
        errorEvents: Object.fromEntries(Object.entries(errors).map(([n, l]) => [n, l.length])),
      });
    } finally {
      destroyQuietly(client);
      destroyQuietly(pool);
      destroyQuietly(cluster);
      await manager.dispose();
      await Promise.all([standalone.stop(), clustered.stop()]);
    }
  },
);

test.concurrent("many connects queued behind one failing first fetch all reject with its typed error, and share that one fetch", async () => {
  const [standalone, clustered] = await Promise.all([
    startFixture(),
    startFixture({ cluster: CLUSTER }),
  ]);
  // A slow identity provider: every connect below starts while the one fetch is in flight.
  const source = failingSource("plain", 500);
  const manager = createTokenManager(source, fastRotation);
  const socket = { host: standalone.server.host, port: standalone.server.port };
  const clients = Array.from({ length: 20 }, () =>
    createClient(manager, { socket, allowInsecureTransport: true }),
  );
  const pools = Array.from({ length: 3 }, () =>
    createClientPool(manager, { socket, allowInsecureTransport: true }, { minimum: 4 }),
  );
  const clusters = Array.from({ length: 2 }, () =>
    createCluster(manager, {
      rootNodes: [{ socket: { host: clustered.server.host, port: clustered.server.port } }],
      allowInsecureTransport: true,
    }),
  );
  const targets = [...clients, ...pools, ...clusters];
  const errors = targets.map((target) => collectErrors(target));
  try {
    let settled: PromiseSettledResult<unknown>[] = [];
    const started = Date.now();
    const unhandled = await noticingUnhandled(async () => {
      settled = await within(
        Promise.allSettled(targets.map((target) => target.connect())),
        5_000,
        "every connect to settle",
      );
    });
    const took = Date.now() - started;
    expect(unhandled).toEqual([]);
    expect(settled.map((result) => result.status)).toEqual(targets.map(() => "rejected"));
    const reasons = settled.map((result) => (result as PromiseRejectedResult).reason);
    for (const reason of reasons) expectTypedFetchError(reason, "plain");
    // One fetch for all of them: 20 clients, 12 pool members, 2 clusters.
    expect(source.fetches).toBe(1);
    // ...and the very error that fetch failed with.
    expect(new Set(reasons).size).toBe(1);
    for (const target of targets) expect(target.isOpen).toBe(false);
    for (const list of errors) {
      for (const error of list) expect(typedOrWrapped(error)).toBe(reasons[0]);
    }
    await sleep(300);
    expect(source.fetches).toBe(1);
    for (const server of [standalone.server, clustered.server]) {
      expect(server.stats().authAttempts).toBe(0);
      expect(server.stats().connections).toBe(0);
    }
    expect(manager.status().counters.subscribers).toBe(0);
    report(`connects queued behind one failing fetch (node-redis ${nodeRedisMajor})`, {
      connects: targets.length,
      fetches: source.fetches,
      allRejectedInMs: took,
    });
  } finally {
    for (const target of targets) destroyQuietly(target);
    await manager.dispose();
    await Promise.all([standalone.stop(), clustered.stop()]);
  }
});
