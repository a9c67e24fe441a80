import type { RedisOptions } from "ioredis";
import { createRedis } from "../../src";
import { rotations, sleep, startFixture } from "./helpers";
import { collectErrors, lazyBoundClient, waitFor } from "./standalone-helpers";

/*
 * Every (re)connect authenticates with the manager's credentials of that moment: however often
 * the server drops connections, across rotations, no token that has expired is presented.
 */

it.concurrent("connections killed over and over across rotations reconnect with current credentials only", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager();
  const redis = await createRedis(manager, fixture.redisOptions());
  const copy = redis.duplicate();
  const subscriber = await createRedis(
    manager,
    fixture.redisOptions({ protocol: 2 } as RedisOptions),
  );
  const errors = [redis, copy, subscriber].map((client) => collectErrors(client));
  const readies = { redis: 0, copy: 0, subscriber: 0 };
  redis.on("ready", () => readies.redis++);
  copy.on("ready", () => readies.copy++);
  subscriber.on("ready", () => readies.subscriber++);
  let messages = 0;
  subscriber.on("message", () => messages++);
  let stop = false;
  const failures: unknown[] = [];
  let commands = 0;
  const traffic = (async () => {
    while (!stop) {
      const results = await Promise.allSettled([
        redis.incr("counter"),
        copy.get("counter"),
        redis.publish("events", "tick"),
      ]);
      for (const result of results) {
        if (result.status === "rejected") failures.push(result.reason);
        else commands++;
      }
      await sleep(10);
    }
  })();
  let killed = 0;
  let kills = 0;
  const killer = (async () => {
    while (!stop) {
      await sleep(100 + Math.random() * 300);
      killed += fixture.server.killConnections();
      kills++;
    }
  })();
  try {
    await subscriber.subscribe("events");
    await copy.ping();
    await rotations(manager, 4);
    stop = true;
    await Promise.all([traffic, killer]);
    // Everything is back and authenticated (past the last rotation's subscriber reconnect).
    await sleep(400);
    expect(await redis.ping()).toBe("PONG");
    expect(await copy.ping()).toBe("PONG");
    const before = messages;
    await waitFor(
      async () => (await redis.publish("events", "last")) === 1,
      "the subscriber to be back",
      2_000,
    );
    await waitFor(() => messages > before, "the last message", 2_000);

    const stats = fixture.server.stats();
    // The server dropped every connection many times, across 4 rotations...
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(killed).toBeGreaterThanOrEqual(kills);
    expect(readies.redis).toBeGreaterThanOrEqual(5);
    expect(readies.copy).toBeGreaterThanOrEqual(5);
    expect(readies.subscriber).toBeGreaterThanOrEqual(5);
    // ...and not one AUTH was refused: no expired token, no token of another kind.
    expect(stats.authRejected.expired ?? 0).toBe(0);
    expect(stats.authRejected).toEqual({});
    // No connection outlived its token either.
    expect(stats.closedAtExpiry).toBe(0);
    // ioredis re-sent what was in flight: no command failed.
    expect(failures).toEqual([]);
    expect(commands).toBeGreaterThan(100);
    for (const list of errors) {
      for (const error of list)
        expect(error.message).toMatch(/ECONNRESET|EPIPE|Connection is closed/);
    }
  } finally {
    stop = true;
    await Promise.allSettled([traffic, killer]);
    redis.disconnect();
    copy.disconnect();
    subscriber.disconnect();
    await fixture.stop();
  }
}, 40_000);

it.concurrent("a connection that drops right after every reconnect never presents the token of a re-AUTH that was in flight once it has expired", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager();
  const { redis, binding } = lazyBoundClient(fixture, manager, { retryStrategy: () => 0 });
  const errors = collectErrors(redis);
  try {
    await redis.connect();
    // Watch what the client writes (calling through): the moment the adapter's re-AUTH of the
    // next rotation is written, the connection drops, before its reply can arrive.
    let reauthExpiresAt: number | undefined;
    const sendCommand = redis.sendCommand;
    redis.sendCommand = function (this: typeof redis, ...args: Parameters<typeof sendCommand>) {
      const result = sendCommand.apply(this, args);
      if (args[0].name === "auth" && reauthExpiresAt === undefined && this.status === "ready") {
        reauthExpiresAt = manager.peekCredentials()?.expiresAt;
        this.disconnect(true);
      }
      return result;
    } as typeof sendCommand;
    // From then on the connection keeps dropping right after each reconnect until that token has
    // expired (a flapping network, a proxy that restarts): every handshake is still accepted.
    // Listening before the first drop, so that its reconnect is not missed.
    let reconnects = 0;
    const flap = () => {
      if (reauthExpiresAt === undefined) return;
      reconnects++;
      if (Date.now() < reauthExpiresAt + 200) redis.disconnect(true);
    };
    redis.on("ready", flap);
    await waitFor(() => reauthExpiresAt !== undefined, "the re-AUTH of the next rotation", 5_000);
    await waitFor(() => Date.now() > reauthExpiresAt! + 300, "that token's expiry", 6_000);
    redis.off("ready", flap);
    await waitFor(() => redis.status === "ready", "the connection to settle", 2_000);
    expect(await redis.ping()).toBe("PONG");

    expect(reconnects).toBeGreaterThan(10);
    const stats = fixture.server.stats();
    // Not once was a token presented after it had expired...
    expect(stats.authRejected).toEqual({});
    // ...nor did the user see any failure.
    expect(binding.status().reauthFailures).toBe(0);
    expect(errors).toEqual([]);
  } finally {
    redis.disconnect();
    await fixture.stop();
  }
}, 30_000);
