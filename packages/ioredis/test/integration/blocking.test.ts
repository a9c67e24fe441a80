import { createRedis } from "../../src";
import { rotations, sleep, startFixture } from "./helpers";
import {
  collectErrors,
  lazyBoundClient,
  managerFor,
  serverConnection,
  switchableSource,
} from "./standalone-helpers";

/*
 * A blocked connection processes nothing until its command returns, so the AUTHs the adapter
 * sends it wait in line behind BLPOP; the server may close it when its token expires, and ioredis
 * then reconnects (with current credentials) and re-sends BLPOP and the AUTHs that were waiting.
 */

it.concurrent("BLPOP with timeout 0 in flight across several rotations resolves with the element pushed later", async () => {
  const fixture = await startFixture();
  const source = switchableSource(fixture);
  const manager = managerFor(source);
  const { redis, binding } = lazyBoundClient(fixture, manager);
  const errors = collectErrors(redis);
  const pusher = await createRedis(manager, fixture.redisOptions());
  try {
    await redis.connect();
    const popped = redis.blpop("jobs", 0);
    let settled = false;
    popped.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const reconnects: number[] = [];
    redis.on("ready", () => reconnects.push(Date.now()));
    await rotations(manager, 4);
    expect(settled).toBe(false);
    // Push on a freshly (re)established connection, far from its deadline: an element popped in
    // the very tick the server closes a connection at expiry can be lost (Redis does not flush
    // a reply to a client it is closing), which is documented and not what this test is about.
    if (reconnects.length === 0 || Date.now() - reconnects.at(-1)! > 500) {
      await new Promise((resolve) => redis.once("ready", resolve));
    }
    await sleep(100);
    const connection = serverConnection(fixture.server, redis);
    expect((connection?.expiresAt ?? 0) - Date.now()).toBeGreaterThan(300);
    expect(await pusher.lpush("jobs", "job-1")).toBeGreaterThanOrEqual(0);
    expect(await popped).toEqual(["jobs", "job-1"]);

    // The AUTHs that waited behind BLPOP are answered by now.
    expect(await redis.ping()).toBe("PONG");
    const stats = fixture.server.stats();
    // The server closed the blocked connection when its token expired (its AUTHs were stuck
    // behind BLPOP), more than once, and ioredis reconnected and re-sent BLPOP each time.
    expect(stats.closedAtExpiry).toBeGreaterThanOrEqual(2);
    expect(reconnects.length).toBe(stats.closedAtExpiry);
    // ioredis re-sends the AUTHs that were waiting after each reconnect, too. The server may refuse
    // those (only ever because their token has expired by then: see reconnects.test.ts)...
    for (const reason of Object.keys(stats.authRejected)) expect(reason).toBe("expired");
    // ...which is no failure: nothing counted, no forced refresh, no error for the user.
    expect(binding.status().reauthFailures).toBe(0);
    expect(source.count("forced")).toBe(0);
    // The user saw no error beyond, at most, the server's closes themselves.
    expect(errors.filter((error) => !/ECONNRESET|EPIPE/.test(error.message))).toEqual([]);
    // Every handshake presented valid credentials (one success per connection at least).
    expect(stats.authSuccesses).toBeGreaterThanOrEqual(reconnects.length + 2);
  } finally {
    redis.disconnect();
    pusher.disconnect();
    await manager.dispose();
    await fixture.stop();
  }
}, 40_000);
