/**
 * One token manager shared by many node-redis connections — 100 clients and a pool of 100 at
 * once — fetches once per rotation in total, not once per connection, and every connection gets
 * each new token by AUTH, once, before the old one expires. A pool whose members share a manager
 * gets past a refused first token with one refresh for all of them. The same manager shared by
 * node-redis and ioredis together is tested in e2e/test/shared-manager.test.ts.
 */
import { CredentialsRejectedError } from "@redis-credentials/core";
import {
  acrossRotations,
  collectErrors,
  countingManager,
  expectNoErrors,
  fastRotation,
  longestStallMs,
  report,
  startFixture,
} from "@redis-credentials/test-helpers";
import type { RedisClientPoolType, RedisClientType } from "redis";
import { createClient, createClientPool } from "../../src";
import { nodeRedisMajor } from "./helpers";

type Client = RedisClientType<any, any, any, any, any>;
type Pool = RedisClientPoolType<any, any, any, any, any>;

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
