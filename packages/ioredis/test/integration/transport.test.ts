import { InsecureTransportError } from "@redis-credentials/core";
import { Redis } from "ioredis";
import { bindCredentials, createRedis } from "../../src";
import { startFixture } from "./helpers";
import { splitOptions } from "./standalone-helpers";

/*
 * Tokens are bearer secrets: the adapter refuses to send a manager's credentials over a connection
 * without TLS unless the caller opts in with `allowInsecureTransport: true`.
 */

it.concurrent("bindCredentials refuses a client without TLS, and createRedis does not connect one", async () => {
  const fixture = await startFixture({ tls: false });
  const manager = fixture.manager();
  const { redisOptions } = splitOptions(fixture.redisOptions({ lazyConnect: true }));
  const redis = new Redis(redisOptions);
  try {
    let thrown: unknown;
    try {
      bindCredentials(redis, manager);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InsecureTransportError);
    const message = (thrown as Error).message;
    expect(message).toContain(`${fixture.server.host}:${fixture.server.port}`);
    expect(message).toMatch(/without TLS/);
    expect(message).toMatch(/allowInsecureTransport: true/);
    // Nothing was hooked: the client stays as it was and nothing subscribed.
    expect(manager.status().counters.subscribers).toBe(0);

    await expect(createRedis(manager, redisOptions)).rejects.toBeInstanceOf(InsecureTransportError);
    await expect(
      createRedis(manager, { ...redisOptions, allowInsecureTransport: false }),
    ).rejects.toBeInstanceOf(InsecureTransportError);
    // No token ever reached the server.
    const stats = fixture.server.stats();
    expect(stats.authAttempts).toBe(0);
    expect(stats.connections).toBe(0);
    expect(manager.status().counters.subscribers).toBe(0);
  } finally {
    redis.disconnect();
    await fixture.stop();
  }
});

it.concurrent("over TLS, bindCredentials and createRedis connect without any opt-in", async () => {
  const fixture = await startFixture({ tls: true });
  const manager = fixture.manager();
  const options = fixture.redisOptions();
  expect(options.tls).toBeDefined();
  expect(options.allowInsecureTransport).toBeUndefined();
  const redis = await createRedis(manager, options);
  const lazy = new Redis({ ...options, lazyConnect: true });
  try {
    const binding = bindCredentials(lazy, manager);
    await lazy.connect();
    expect(await redis.ping()).toBe("PONG");
    expect(await lazy.ping()).toBe("PONG");
    expect(binding.status().connections).toBe(1);
    const stats = fixture.server.stats();
    expect(stats.authSuccesses).toBe(2);
    expect(stats.connectionsByUser).toEqual({ [fixture.objectId]: 2 });
  } finally {
    redis.disconnect();
    lazy.disconnect();
    await fixture.stop();
  }
});
