/**
 * One token manager shared by many connections — node-redis clients, a node-redis pool and
 * ioredis clients at once — fetches once per rotation in total, not once per connection or per
 * library, and every connection gets each new token by AUTH, once, before the old one expires.
 * The shared-manager tests that need node-redis alone (200 connections on one manager, a pool
 * and a refused first token) are in packages/node-redis/test/integration/shared-manager.test.ts.
 */
import { createRedis } from "@redis-credentials/ioredis";
import { createClient, createClientPool } from "@redis-credentials/node-redis";
import {
  acrossRotations,
  collectErrors,
  countingManager,
  expectNoErrors,
  longestStallMs,
  ROTATIONS,
  report,
  startFixture,
} from "@redis-credentials/test-helpers";
import type { Redis } from "ioredis";
import type { RedisClientPoolType, RedisClientType } from "redis";
import * as redis from "redis";

/** The node-redis major in use, for the figures' labels (this project runs node-redis 6). */
const nodeRedisMajor: 5 | 6 = (redis as { DEFAULT_RESP?: number }).DEFAULT_RESP === 3 ? 6 : 5;

type Client = RedisClientType<any, any, any, any, any>;
type Pool = RedisClientPoolType<any, any, any, any, any>;

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
      Promise.all(
        Array.from({ length: 10 }, () =>
          createRedis(manager, { ...socket, allowInsecureTransport: true }),
        ),
      ),
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
