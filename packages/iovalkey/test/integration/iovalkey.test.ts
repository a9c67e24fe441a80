import {
  CredentialsRejectedError,
  createTokenManager,
  staticCredentials,
} from "@redis-credentials/core";
import {
  collectErrors,
  expiredAuths,
  managerFor,
  rotations,
  startFixture,
  switchableSource,
  WRONG_USER,
  waitFor,
} from "@redis-credentials/test-helpers";
import { Cluster, Redis } from "iovalkey";
import { bindCredentials, bindingOf, createCluster, createRedis } from "../../src";

/*
 * @redis-credentials/iovalkey itself, as a user would call it, with real iovalkey clients against
 * the token-enforcing Redis. Everything else about the shared implementation is tested in
 * packages/ioredis, whose integration tests run again on iovalkey (jest project
 * `integration-iovalkey`).
 */

const ROTATIONS = 5;

it.concurrent(`createRedis over TLS: an iovalkey client, no failed command across ${ROTATIONS} rotations`, async () => {
  const fixture = await startFixture({ tls: true });
  const manager = fixture.manager();
  const redis = await createRedis(manager, {
    host: fixture.server.host,
    port: fixture.server.port,
    tls: { ca: fixture.server.ca, servername: "localhost" },
  });
  const errors = collectErrors(redis);
  try {
    expect(redis).toBeInstanceOf(Redis);
    let failed = 0;
    let done = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          await redis.set("key", String(done));
          expect(await redis.get("key")).toBe(String(done));
          done++;
        } catch {
          failed++;
        }
      }
    })();
    await rotations(manager, ROTATIONS);
    // One handshake, then one AUTH on the same connection per rotation (spread after it).
    await waitFor(
      () => fixture.server.stats().authSuccesses >= 1 + ROTATIONS,
      "the last rotation's AUTH",
      3_000,
    );
    running = false;
    await loop;
    expect(failed).toBe(0);
    expect(done).toBeGreaterThan(100);
    const stats = fixture.server.stats();
    expect(stats.connections).toBe(1);
    expect(stats.closedAtExpiry).toBe(0);
    expect(expiredAuths(fixture.server)).toBe(0);
    expect(bindingOf(redis)?.status()).toMatchObject({ connections: 1, reauthFailures: 0 });
    expect(errors).toEqual([]);
  } finally {
    redis.disconnect();
    await fixture.stop();
  }
}, 60_000);

it.concurrent("createCluster: an iovalkey Cluster whose nodes stay authenticated across rotations", async () => {
  const fixture = await startFixture({ cluster: { masters: 3 } });
  const manager = fixture.manager();
  const cluster = await createCluster(
    manager,
    [{ host: fixture.server.host, port: fixture.server.port }],
    { allowInsecureTransport: true, clusterRetryStrategy: (times) => Math.min(50 * times, 500) },
  );
  try {
    expect(cluster).toBeInstanceOf(Cluster);
    const keys = Array.from({ length: 30 }, (_, i) => `key:${i}`);
    for (const key of keys) await cluster.set(key, key);
    await rotations(manager, 3);
    for (const key of keys) expect(await cluster.get(key)).toBe(key);
    expect(fixture.server.stats().closedAtExpiry).toBe(0);
    expect(expiredAuths(fixture.server)).toBe(0);
    const status = bindingOf(cluster)?.status();
    expect(status?.connections).toBeGreaterThanOrEqual(3);
    expect(status?.reauthFailures).toBe(0);
    // Its nodes share the cluster's binding.
    for (const node of cluster.nodes("master")) expect(bindingOf(node)).toBe(bindingOf(cluster));
  } finally {
    cluster.disconnect();
    await fixture.stop();
  }
}, 60_000);

it.concurrent("bindCredentials on an iovalkey client you build: duplicates and subscribers bound, dispose() lets go", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager();
  const redis = new Redis({
    host: fixture.server.host,
    port: fixture.server.port,
    lazyConnect: true,
  });
  expect(bindingOf(redis)).toBeUndefined();
  const binding = bindCredentials(redis, manager, { allowInsecureTransport: true });
  try {
    expect(bindingOf(redis)).toBe(binding);
    await redis.connect();
    const subscriber = redis.duplicate();
    expect(bindingOf(subscriber)).toBe(binding);
    const received: string[] = [];
    subscriber.on("message", (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe("news");
    expect(binding.status()).toMatchObject({ connections: 2, reauthFailures: 0, iamRetries: 0 });
    // RESP2 only: the subscriber is reconnected and resubscribed before its token expires.
    await rotations(manager, 3);
    await redis.publish("news", "after rotations");
    await waitFor(() => received.includes("after rotations"), "the message", 3_000);
    expect(fixture.server.stats().closedAtExpiry).toBe(0);
    expect(binding.status().lastReauthAt).toBeDefined();
    subscriber.disconnect();
    binding.dispose();
    expect(bindingOf(redis)).toBeUndefined();
  } finally {
    redis.disconnect();
    await fixture.stop();
  }
}, 60_000);

it.concurrent("a refused credential: createRedis rejects with CredentialsRejectedError after one forced refresh", async () => {
  const fixture = await startFixture();
  const source = switchableSource(fixture, "wrong-user");
  const manager = managerFor(source);
  try {
    const error = await createRedis(manager, {
      host: fixture.server.host,
      port: fixture.server.port,
      allowInsecureTransport: true,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect((error as CredentialsRejectedError).username).toBe(WRONG_USER);
    expect(source.count("forced")).toBe(1);
  } finally {
    await manager.dispose();
    await fixture.stop();
  }
}, 30_000);

it("refuses what is not a client, and plain TCP without allowInsecureTransport, naming iovalkey", async () => {
  const manager = createTokenManager(staticCredentials({ username: "app", password: "pw" }));
  try {
    expect(() => bindCredentials({} as never, manager)).toThrow(/iovalkey Redis or Cluster/);
    const plain = new Redis({ port: 1, lazyConnect: true });
    expect(() => bindCredentials(plain, manager)).toThrow(
      expect.objectContaining({ name: "InsecureTransportError" }),
    );
  } finally {
    await manager.dispose();
  }
});
