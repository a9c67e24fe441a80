/**
 * One token manager shared by many connections — node-redis clients, a node-redis pool and
 * ioredis clients at once — fetches once per rotation in total, not once per connection or per
 * library, and every connection gets each new token by AUTH, once, before the old one expires.
 */
import {
  type CredentialSource,
  CredentialsRejectedError,
  createTokenManager,
  credentialsFromJwt,
  type FetchReason,
} from "@redis-credentials/core";
import { createRedis } from "@redis-credentials/ioredis";
import type { ConnectionStats } from "@redis-credentials/testing";
import type { Redis } from "ioredis";
import type { RedisClientPoolType, RedisClientType } from "redis";
import { createClient, createClientPool } from "../../src";
import {
  authsBetween,
  collectErrors,
  connectionsOf,
  expectCleanServer,
  expectNoErrors,
  longestStallMs,
  report,
  snapshot,
  untilAllHoldCurrentToken,
} from "./cluster-helpers";
import { type Fixture, fastRotation, nodeRedisMajor, rotations, startFixture } from "./helpers";

type Client = RedisClientType<any, any, any, any, any>;
type Pool = RedisClientPoolType<any, any, any, any, any>;

const ROTATIONS = 4;
/**
 * A rotation about every 2 s, as with the other suites' tokens, but tokens that live 4 s and are
 * renewed 2 s before they expire: with 245 connections and their proxy in this process, a loaded
 * machine was seen to stall its event loop for more than the 1 s margin of 3-s tokens (the
 * manager still spreads each rotation's AUTHs over 200 ms, long before the old token expires).
 */
const TOKENS = { lifetimeMs: 4_000, refreshBeforeExpiryMs: 2_000 };

/** A user name Redis does not know: the token verifies, the server answers WRONGPASS. */
const UNKNOWN_USER = "00000000-0000-4000-8000-0000deadbeef";

/**
 * A fast-rotating manager over the fixture's source that counts the source's fetches itself,
 * with the reason of each, and how many had been made at each rotation. With `refuseFirst`, the
 * first credentials name a user Redis does not know (as after a misconfiguration fixed since):
 * Redis refuses them, and every later fetch gives good ones.
 */
function countingManager(fixture: Fixture, options: { refuseFirst?: boolean } = {}) {
  const reasons: FetchReason[] = [];
  const counting: CredentialSource = {
    name: "counting-issuer",
    fetch: async (context) => {
      reasons.push(context.reason);
      const token = fixture.issuer.issueToken({
        objectId: fixture.objectId,
        lifetimeMs: TOKENS.lifetimeMs,
      });
      const refused = options.refuseFirst === true && reasons.length === 1;
      return credentialsFromJwt(token, refused ? { username: UNKNOWN_USER } : {});
    },
  };
  const manager = createTokenManager(counting, {
    ...fastRotation,
    refreshBeforeExpiryMs: TOKENS.refreshBeforeExpiryMs,
  });
  const refreshedAt: number[] = [];
  const fetchesAtRefresh: number[] = [];
  manager.on("refreshed", () => {
    refreshedAt.push(Date.now());
    fetchesAtRefresh.push(reasons.length);
  });
  return { manager, reasons, refreshedAt, fetchesAtRefresh };
}

/**
 * Runs ROTATIONS rotations (after a first one, so that counting starts at a quiet moment), using
 * every connection after each, and checks what a shared manager must give: one source fetch per
 * rotation in all, and exactly one AUTH per rotation on every connection, all of them the same
 * connections from start to end.
 */
async function acrossRotations(options: {
  fixture: Fixture;
  counting: ReturnType<typeof countingManager>;
  connections: number;
  useEveryConnection: () => Promise<unknown>;
  /** Called at every poll of the server's connections, for the AUTH timeline. */
  onPoll?: (connections: ConnectionStats[], now: number) => void;
}) {
  const { fixture } = options;
  const { manager, reasons, refreshedAt, fetchesAtRefresh } = options.counting;
  const ours = () => connectionsOf(fixture.server, fixture.objectId);
  expect(ours()).toHaveLength(options.connections);
  const errors: unknown[] = [];
  const use = () => options.useEveryConnection().catch((error) => errors.push(error));
  await use();
  const poller = options.onPoll && setInterval(() => options.onPoll!(ours(), Date.now()), 5);
  try {
    const settled = () =>
      untilAllHoldCurrentToken(fixture.server, fixture.objectId, manager, options.connections);
    await rotations(manager, 1);
    const before = snapshot(await settled());
    const counted = refreshedAt.length;
    for (let rotation = 0; rotation < ROTATIONS; rotation++) {
      await rotations(manager, 1);
      await use();
    }
    const after = await settled();
    // Rotations between the two quiet moments (more than ROTATIONS if a wait outlasted one).
    const rotated = refreshedAt.length - counted;

    expectNoErrors(errors);
    expect(rotated).toBeGreaterThanOrEqual(ROTATIONS);
    // At the n-th new credentials, the source had been asked n times: the first credentials,
    // then one scheduled refresh per rotation, for every connection together.
    expect(fetchesAtRefresh).toEqual(fetchesAtRefresh.map((_, index) => index + 1));
    expect(reasons).toEqual(["initial", ...Array(reasons.length - 1).fill("scheduled")]);
    // At most the next one in flight.
    expect(reasons.length - refreshedAt.length).toBeLessThanOrEqual(1);
    expect(manager.status().counters).toMatchObject({
      failures: 0,
      subscribers: options.connections,
    });
    // Every connection lived through every rotation and was re-authenticated exactly once each time.
    expect(after).toHaveLength(options.connections);
    const auths = authsBetween(before, after);
    const unexpected = auths.filter(
      (auth) => !auth.survived || auth.attempts !== rotated || auth.successes !== rotated,
    );
    expect(unexpected).toEqual([]);
    expectCleanServer(fixture.server);
    return { refreshedAt: refreshedAt.slice(counted) };
  } finally {
    clearInterval(poller);
  }
}

test.concurrent(`one manager shared by node-redis clients, a node-redis pool and ioredis clients fetches once per rotation across ${ROTATIONS} rotations`, async () => {
  const fixture = await startFixture({ tls: false });
  const counting = countingManager(fixture);
  const { manager } = counting;
  const socket = { host: fixture.server.host, port: fixture.server.port };
  const clients: Client[] = [];
  const ioredisClients: Redis[] = [];
  let pool: Pool | undefined;
  const errors: Error[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const client = createClient(manager, { socket, allowInsecureTransport: true }) as Client;
      errors.push(...collectErrors(client));
      clients.push(client);
    }
    pool = createClientPool(
      manager,
      { socket, allowInsecureTransport: true },
      { minimum: 5, maximum: 5 },
    ) as Pool;
    const poolErrors = collectErrors(pool);
    const [, , ioredis] = await Promise.all([
      Promise.all(clients.map((client) => client.connect())),
      pool.connect(),
      Promise.all(Array.from({ length: 10 }, () => createRedis(manager, fixture.redisOptions()))),
    ]);
    ioredisClients.push(...ioredis);
    const ioredisErrors = ioredis.flatMap((client) => collectErrors(client));
    expect(pool.totalClients).toBe(5);
    let increments = 0;

    await acrossRotations({
      fixture,
      counting,
      connections: 10 + 5 + 10,
      useEveryConnection: async () => {
        await Promise.all([
          ...clients.map((client) => client.incr("shared")),
          // Five tasks at once: each takes a pool member of its own.
          ...Array.from({ length: 5 }, () => pool!.execute((member) => member.incr("shared"))),
          ...ioredis.map((client) => client.incr("shared")),
        ]);
        increments++;
      },
    });

    expect(Number(await clients[0]!.get("shared"))).toBe(25 * increments);
    expectNoErrors([...errors, ...poolErrors, ...ioredisErrors]);
    report(`node-redis ${nodeRedisMajor} + ioredis, one manager`, {
      eventLoopStallMaxMs: longestStallMs(),
      connections: 25,
      // Counted from the first connect: the first credentials, then one per rotation.
      rotations: counting.refreshedAt.length - 1,
      fetches: counting.fetchesAtRefresh.at(-1),
    });
  } finally {
    for (const client of clients) if (client.isOpen) client.destroy();
    if (pool?.isOpen) pool.destroy();
    for (const client of ioredisClients) client.disconnect();
    await manager.dispose();
    await fixture.stop();
  }
});

test.concurrent(`200 node-redis connections (100 clients, a pool of 100) on one manager: one fetch per rotation, one AUTH per connection per rotation`, async () => {
  const fixture = await startFixture({ tls: false });
  const counting = countingManager(fixture);
  const { manager } = counting;
  const socket = { host: fixture.server.host, port: fixture.server.port };
  const clients: Client[] = [];
  let pool: Pool | undefined;
  const errors: Error[] = [];
  /** When each AUTH after the handshake reached the server (to within a poll), by connection. */
  const authTimes: number[] = [];
  const lastSeen = new Map<number, number>();
  try {
    for (let i = 0; i < 100; i++) {
      const client = createClient(manager, { socket, allowInsecureTransport: true }) as Client;
      errors.push(...collectErrors(client));
      clients.push(client);
    }
    pool = createClientPool(
      manager,
      { socket, allowInsecureTransport: true },
      { minimum: 100, maximum: 100 },
    ) as Pool;
    errors.push(...collectErrors(pool));
    await Promise.all([...clients.map((client) => client.connect()), pool.connect()]);
    expect(pool.totalClients).toBe(100);

    const { refreshedAt } = await acrossRotations({
      fixture,
      counting,
      connections: 200,
      useEveryConnection: () =>
        Promise.all([
          ...clients.map((client) => client.ping()),
          ...Array.from({ length: 100 }, () => pool!.execute((member) => member.ping())),
        ]),
      onPoll(connections, now) {
        for (const { id, authSuccesses } of connections) {
          const seen = lastSeen.get(id);
          if (seen !== undefined && authSuccesses > seen) authTimes.push(now);
          lastSeen.set(id, authSuccesses);
        }
      },
    });

    expectNoErrors(errors);
    // Each rotation's AUTHs as the server saw them (to within a 5-ms poll), for the record: the
    // manager spreads them over reauthSpreadMs.
    const perRotation = refreshedAt.map((at, index) => {
      const until = refreshedAt[index + 1] ?? Number.POSITIVE_INFINITY;
      const times = authTimes.filter((time) => time >= at && time < until);
      return {
        auths: times.length,
        firstMs: Math.min(...times) - at,
        lastMs: Math.max(...times) - at,
        spreadMs: Math.max(...times) - Math.min(...times),
        busiest50ms: busiestWindow(times, 50),
      };
    });
    const perSecond = fixture.server.stats().perSecond.map((second) => second.authSuccesses);
    report(`node-redis ${nodeRedisMajor}, 200 connections on one manager`, {
      eventLoopStallMaxMs: longestStallMs(),
      rotations: counting.refreshedAt.length - 1,
      fetches: counting.fetchesAtRefresh.at(-1),
      reauthSpreadMs: fastRotation.reauthSpreadMs,
      perRotation,
      maxAuthsPerSecond: Math.max(...perSecond),
    });
  } finally {
    for (const client of clients) if (client.isOpen) client.destroy();
    if (pool?.isOpen) pool.destroy();
    await manager.dispose();
    await fixture.stop();
  }
});

test.concurrent("a pool whose members share a manager and a refused first token connects every member after one forced refresh", async () => {
  const fixture = await startFixture({ tls: false });
  const { manager, reasons } = countingManager(fixture, { refuseFirst: true });
  const socket = { host: fixture.server.host, port: fixture.server.port };
  const pool = createClientPool(
    manager,
    { socket, allowInsecureTransport: true },
    { minimum: 20, maximum: 20 },
  ) as Pool;
  const errors = collectErrors(pool);
  try {
    // Each member's handshake presents the refused credentials; the first refusal forces one
    // refresh, whose credentials are good, and every member reconnects with them. A refusal of
    // the old credentials that arrives after the refresh is not a refusal of the new ones.
    await pool.connect();
    expect(pool.totalClients).toBe(20);
    await Promise.all(Array.from({ length: 20 }, () => pool.execute((member) => member.ping())));
    // One more fetch in all: the forced one, or the scheduled refresh when a loaded machine lets
    // it come first (the refusals then find newer credentials and force nothing).
    expect(reasons).toHaveLength(2);
    expect(["forced", "scheduled"]).toContain(reasons[1]);
    const { authRejected, connectionsByUser } = fixture.server.stats();
    expect(authRejected).toEqual({ user: 20 });
    expect(connectionsByUser).toEqual({ [fixture.objectId]: 20 });
    // node-redis reports each refused handshake (WRONGPASS) before it reconnects; no error
    // says the good credentials were refused.
    expect(errors.filter((error) => error instanceof CredentialsRejectedError)).toEqual([]);
  } finally {
    if (pool.isOpen) pool.destroy();
    await manager.dispose();
    await fixture.stop();
  }
});

/** The most timestamps in any window of `ms`. */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= ms) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
