import { CredentialsExpiredError } from "@redis-credentials/core";
import type { RedisOptions } from "ioredis";
import { createRedis } from "../../src";
import { startFixture } from "./helpers";
import { collectErrors, managerFor, switchableSource, waitFor } from "./standalone-helpers";

/*
 * The identity provider goes down while connections are up. Tokens expire, the server closes the
 * connections, and there is nothing valid to reconnect with: each attempt waits for fresh
 * credentials (bounded by connectTimeout) and fails with CredentialsExpiredError, never presenting
 * the stale token; when the provider comes back, the client reconnects by itself.
 */

it.concurrent("an identity outage: CredentialsExpiredError per attempt, no stale token, queued commands fail by maxRetriesPerRequest, recovery by itself", async () => {
  const fixture = await startFixture();
  const source = switchableSource(fixture);
  const manager = managerFor(source);
  const redis = await createRedis(
    manager,
    fixture.redisOptions({ connectTimeout: 500, maxRetriesPerRequest: 1 }),
  );
  const subscriber = await createRedis(
    manager,
    fixture.redisOptions({ connectTimeout: 500, protocol: 2 } as RedisOptions),
  );
  const subscriberErrors = collectErrors(subscriber);
  const messages: string[] = [];
  subscriber.on("message", (_channel: string, message: string) => messages.push(message));
  await subscriber.subscribe("news");
  const errors = collectErrors(redis);
  let reconnecting = 0;
  redis.on("reconnecting", () => reconnecting++);
  try {
    expect(await redis.set("outage", "before")).toBe("OK");
    const connected = fixture.server.connections();
    source.mode = "fail";

    // The tokens expire, the server closes the connections, and reconnects find nothing valid.
    await waitFor(() => fixture.server.stats().closedAtExpiry === 2, "the closes at expiry", 6_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Math.max(...connected.map((c) => c.expiresAt!)));
    const attemptsAtClose = fixture.server.stats().authAttempts;
    await waitFor(
      () => errors.filter((error) => error instanceof CredentialsExpiredError).length >= 3,
      "three failed reconnect attempts",
      8_000,
    );
    const expired = errors.filter((error) => error instanceof CredentialsExpiredError);
    expect(expired[0]!.message).toMatch(/connectTimeout \(500 ms\)/);
    expect(expired[0]!.message).toContain(source.name);
    expect(redis.status).not.toBe("ready");

    // A command issued now waits in the offline queue and fails as maxRetriesPerRequest says.
    const queued = redis.get("outage").then(
      () => undefined,
      (error: Error) => error,
    );
    const failure = await queued;
    expect(failure?.name).toBe("MaxRetriesPerRequestError");
    expect(failure?.message).toMatch(/max retries per request limit \(which is 1\)/);

    // No attempt presented the stale token: no AUTH at all reached the server meanwhile.
    const stats = fixture.server.stats();
    expect(stats.authAttempts).toBe(attemptsAtClose);
    expect(stats.authRejected).toEqual({});
    expect(stats.connections).toBe(0);
    // Only CredentialsExpiredError reached the user, one per attempt, carrying the cause.
    expect(errors.filter((error) => !(error instanceof CredentialsExpiredError))).toEqual([]);
    const [attempts, failed] = [reconnecting, errors.length];
    expect(failed).toBeGreaterThanOrEqual(attempts - 1);
    expect(failed).toBeLessThanOrEqual(attempts);
    expect((expired[0]!.cause as Error | undefined)?.message).toMatch(/identity provider is down/);

    // The provider recovers: the client reconnects by itself and commands succeed.
    source.mode = "ok";
    await waitFor(() => redis.status === "ready", "the client to reconnect", 8_000);
    expect(await redis.get("outage")).toBe("before");
    expect(await redis.set("outage", "after")).toBe("OK");
    // The subscriber is back too, resubscribed.
    await waitFor(
      async () => (await redis.publish("news", "back")) === 1,
      "the subscriber to reconnect and resubscribe",
      8_000,
    );
    await waitFor(() => messages.includes("back"), "the message after the outage", 2_000);
    expect(subscriberErrors.filter((e) => !(e instanceof CredentialsExpiredError))).toEqual([]);
    // Both connections authenticated again (a RESP2 subscriber reconnects at each rotation by
    // design, so the count is awaited rather than read at one instant).
    await waitFor(
      () => fixture.server.stats().connectionsByUser[fixture.objectId] === 2,
      "both connections authenticated",
      4_000,
    );
    expect(fixture.server.stats().authRejected).toEqual({});
  } finally {
    subscriber.disconnect();
    redis.disconnect();
    await manager.dispose();
    await fixture.stop();
  }
}, 30_000);
