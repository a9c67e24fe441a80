import Redis from "ioredis";
import { createTokenIssuer, newId } from "../../src/token-issuer";
import { startTokenRedis, type TokenRedis } from "../../src/token-redis";
import { expiryOf, plain, RawClient, untilAfter } from "./token-redis-helpers";

// Tokens live seconds; every scenario runs on its own server, concurrently, to keep the file short.
const issuer = createTokenIssuer();
const user = newId();
const token = (lifetimeMs: number) => issuer.issueToken({ objectId: user, lifetimeMs });
const PRECISION_MS = 100;

async function withRedis(run: (redis: TokenRedis) => Promise<void>) {
  const redis = await startTokenRedis({ identity: issuer, tls: false });
  try {
    await run(redis);
  } finally {
    await redis.stop();
  }
}

describe("startTokenRedis: connections die when their token expires", () => {
  it.concurrent("closes every connection within 100 ms of its token's exp, RESP2 and RESP3", () =>
    withRedis(async (redis) => {
      const connections = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const client = await RawClient.connect(redis.port);
          const issued = token(1500 + (i % 10) * 100);
          const reply =
            i % 2 === 0
              ? await client.command("AUTH", user, issued)
              : await client.command("HELLO", "3", "AUTH", user, issued);
          expect(reply.type).toBe(i % 2 === 0 ? "simple" : "map");
          return { client, expiresAt: expiryOf(issued) };
        }),
      );
      const deltas = await Promise.all(
        connections.map(async ({ client, expiresAt }) => (await client.closed) - expiresAt),
      );
      for (const delta of deltas) expect(Math.abs(delta)).toBeLessThan(PRECISION_MS);
      expect(redis.stats()).toMatchObject({
        closedAtExpiry: 30,
        connections: 0,
        authSuccesses: 30,
      });
    }));

  it.concurrent.each(["AUTH", "HELLO"])(
    "a re-AUTH (%s) with a newer token moves the deadline to the new token's exp",
    (command) =>
      withRedis(async (redis) => {
        const first = token(1500);
        const client = await RawClient.connect(redis.port);
        // AUTH on RESP2, HELLO on RESP3.
        if (command === "AUTH") await client.command("AUTH", user, first);
        else await client.command("HELLO", "3", "AUTH", user, first);
        const second = token(3000);
        expect(expiryOf(second)).toBeGreaterThan(expiryOf(first));
        const reply =
          command === "AUTH"
            ? await client.command("AUTH", user, second)
            : await client.command("HELLO", "3", "AUTH", user, second);
        expect(reply.type).toBe(command === "AUTH" ? "simple" : "map");
        expect(redis.connections()[0]?.expiresAt).toBe(expiryOf(second));
        await untilAfter(expiryOf(first), 200);
        expect(plain(await client.command("PING"))).toBe("PONG");
        expect(Math.abs((await client.closed) - expiryOf(second))).toBeLessThan(PRECISION_MS);
      }),
  );

  it.concurrent("an AUTH queued inside MULTI does not move the deadline", () =>
    withRedis(async (redis) => {
      const first = token(1500);
      const client = await RawClient.connect(redis.port);
      await client.command("AUTH", user, first);
      expect(plain(await client.command("MULTI"))).toBe("OK");
      expect(plain(await client.command("AUTH", user, token(10_000)))).toBe("QUEUED");
      expect(plain(await client.command("EXEC"))).toEqual(["OK"]);
      expect(Math.abs((await client.closed) - expiryOf(first))).toBeLessThan(PRECISION_MS);
      expect(redis.stats().authNotApplied).toEqual({ queued: 1 });
    }));

  it.concurrent("a RESP2 subscriber's re-AUTH is refused by Redis and the subscriber dies at expiry", () =>
    withRedis(async (redis) => {
      const first = token(1500);
      const subscriber = await RawClient.connect(redis.port);
      await subscriber.command("AUTH", user, first);
      expect(plain(await subscriber.command("SUBSCRIBE", "news"))).toEqual([
        "subscribe",
        "news",
        1,
      ]);
      const refused = plain(await subscriber.command("AUTH", user, token(10_000)));
      expect(refused).toEqual({
        error: expect.stringMatching(/^ERR .*only .* allowed in this context/),
      });
      const publisher = await RawClient.connect(redis.port);
      await publisher.command("AUTH", user, token(10_000));
      expect(plain(await publisher.command("PUBLISH", "news", "hello"))).toBe(1);
      expect(plain(await subscriber.next())).toEqual(["message", "news", "hello"]);
      expect(Math.abs((await subscriber.closed) - expiryOf(first))).toBeLessThan(PRECISION_MS);
      expect(redis.stats().authNotApplied).toEqual({ refused: 1 });
      publisher.close();
    }));

  it.concurrent("a RESP3 subscriber re-AUTHs, survives its first token and keeps receiving messages", () =>
    withRedis(async (redis) => {
      const first = token(1500);
      const subscriber = await RawClient.connect(redis.port);
      await subscriber.command("HELLO", "3", "AUTH", user, first);
      const confirmation = await subscriber.command("SUBSCRIBE", "news");
      expect(confirmation.type).toBe("push");
      expect(plain(confirmation)).toEqual(["subscribe", "news", 1]);
      const second = token(3000);
      expect(plain(await subscriber.command("AUTH", user, second))).toBe("OK");
      const publisher = await RawClient.connect(redis.port);
      await publisher.command("AUTH", user, token(10_000));
      await untilAfter(expiryOf(first), 200);
      expect(plain(await publisher.command("PUBLISH", "news", "still here"))).toBe(1);
      const message = await subscriber.next();
      expect(message.type).toBe("push");
      expect(plain(message)).toEqual(["message", "news", "still here"]);
      expect(Math.abs((await subscriber.closed) - expiryOf(second))).toBeLessThan(PRECISION_MS);
      publisher.close();
    }));

  it.concurrent("an ioredis client is disconnected at its token's exp", () =>
    withRedis(async (redis) => {
      const issued = token(1500);
      const client = new Redis({
        host: redis.host,
        port: redis.port,
        username: user,
        password: issued,
        retryStrategy: () => null,
        lazyConnect: true,
      });
      client.on("error", () => {});
      await client.connect();
      const closed = new Promise<number>((resolve) =>
        client.once("close", () => resolve(Date.now())),
      );
      expect(await client.ping()).toBe("PONG");
      expect(Math.abs((await closed) - expiryOf(issued))).toBeLessThan(PRECISION_MS);
      expect(client.status).toBe("end");
    }));

  it.concurrent("closes the connection at exp even while the server hangs", () =>
    withRedis(async (redis) => {
      const issued = token(1500);
      const client = await RawClient.connect(redis.port);
      await client.command("AUTH", user, issued);
      redis.pauseNode(0);
      client.write("*1\r\n$4\r\nPING\r\n");
      expect(Math.abs((await client.closed) - expiryOf(issued))).toBeLessThan(PRECISION_MS);
      expect(client.values).toEqual([]);
      redis.resumeNode(0);
    }));

  it.concurrent("does not close a connection that never authenticated", () =>
    withRedis(async (redis) => {
      const issued = token(1500);
      const authenticated = await RawClient.connect(redis.port);
      await authenticated.command("AUTH", user, issued);
      const anonymous = await RawClient.connect(redis.port);
      await authenticated.closed;
      await untilAfter(expiryOf(issued), 200);
      expect(anonymous.isOpen).toBe(true);
      expect(plain(await anonymous.command("PING"))).toEqual({
        error: expect.stringMatching(/^NOAUTH/),
      });
      anonymous.close();
    }));
});
