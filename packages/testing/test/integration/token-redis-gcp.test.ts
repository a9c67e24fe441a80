import { GoogleAuth } from "google-auth-library";
import Redis, { Cluster } from "ioredis";
import type { TokenCluster } from "../../src/cluster";
import { type IdentityEmulator, startIdentityEmulator } from "../../src/identity-emulator";
import { encodeCommand } from "../../src/resp";
import type { TokenSentinel } from "../../src/sentinel";
import { startTokenRedis, type TokenRedis } from "../../src/token-redis";
import { CLOUD_PLATFORM, pointGoogleAuthAt } from "./gcp-helpers";
import { eventually, NOAUTH, plain, RawClient, untilAfter, WRONGPASS } from "./token-redis-helpers";

// GCP mode end to end: clients AUTH over TLS as `default` with the identity emulator's Google
// access tokens, against real redis-servers behind the enforcing proxy that applies Memorystore's
// IAM rules (checked at AUTH only, 12-hour connections, new connections per second limited).

const TWELVE_HOURS = 12 * 60 * 60 * 1000;
const OTHER_ACCOUNT = "batch-job@emulator-project.iam.gserviceaccount.com";
const IAM_EXHAUSTED = /^ERR_IAM_EXHAUSTED /;

let idp: IdentityEmulator;
/** No limit, any service account. */
let redis: TokenRedis;
/** Two new connections per second; only the emulator's own service account. */
let limited: TokenRedis;
let cluster: TokenCluster;
/** Three new connections per second over the three nodes. */
let limitedCluster: TokenCluster;
let sentinel: TokenSentinel;

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: 60_000 });
  [redis, limited, cluster, limitedCluster, sentinel] = await Promise.all([
    startTokenRedis({ identity: idp, gcp: {} }),
    startTokenRedis({
      identity: idp,
      gcp: { newConnectionsPerSecond: 2, principals: [idp.googleServiceAccount] },
    }),
    startTokenRedis({ identity: idp, gcp: {}, cluster: { masters: 3 } }),
    startTokenRedis({
      identity: idp,
      gcp: { newConnectionsPerSecond: 3 },
      cluster: { masters: 3 },
    }),
    startTokenRedis({ identity: idp, gcp: {}, sentinel: { replicas: 1 } }),
  ]);
}, 60_000);
afterAll(() =>
  Promise.all([
    redis?.stop(),
    limited?.stop(),
    cluster?.stop(),
    limitedCluster?.stop(),
    sentinel?.stop(),
    idp?.stop(),
  ]),
);

const closers: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const token = (options: Parameters<IdentityEmulator["issueGoogleAccessToken"]>[0] = {}) =>
  idp.issueGoogleAccessToken(options);

/** An ioredis client over TLS that does not reconnect: a close by the server stays visible. */
function client(
  server: TokenRedis,
  password: string,
  options: { protocol?: 2 | 3; username?: string } = {},
) {
  const redisClient = new Redis({
    host: server.host,
    port: server.port,
    tls: { ca: server.ca! },
    password,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    ...options,
  });
  redisClient.on("error", () => {});
  // ioredis arms a timer on every disconnect(), which a socket already closed never clears.
  closers.push(() => redisClient.status !== "end" && redisClient.disconnect());
  return redisClient;
}

/** A bare TLS connection to `port`, closed after the test. */
async function raw(server: TokenRedis, port = server.port) {
  const connection = await RawClient.connect(port, { ca: server.ca! });
  closers.push(() => connection.close());
  return connection;
}

/**
 * Runs `attempt` from the start of a wall-clock second (the budget is per second), and again if
 * it ran across the end of one, which a loaded machine may make it do. The connections it opens
 * are ready beforehand: only AUTHs count.
 */
async function withinOneSecond<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    await untilAfter(Math.ceil(Date.now() / 1000) * 1000, 5);
    const second = Math.floor(Date.now() / 1000);
    const result = await attempt();
    if (Math.floor(Date.now() / 1000) === second || tries === 5) return result;
  }
}

describe("startTokenRedis({ identity, gcp }): Memorystore IAM authentication", () => {
  it("an ioredis client AUTHs as default with an access token over TLS (RESP2 and RESP3)", async () => {
    // RESP2 without a user name (AUTH <token>), RESP3 as default (HELLO 3 AUTH default <token>).
    for (const options of [{ protocol: 2 }, { protocol: 3, username: "default" }] as const) {
      const io = client(redis, token(), options);
      const sent = Date.now();
      await io.connect();
      const answered = Date.now();
      await io.set(`gcp:${options.protocol}`, "value");
      expect(await io.get(`gcp:${options.protocol}`)).toBe("value");
      const connection = redis.connections().find((c) => c.clientPort === io.stream.localPort);
      expect(connection).toMatchObject({ user: idp.googleServiceAccount, authSuccesses: 1 });
      // Valid 12 hours after the AUTH, whatever the token's own minute.
      expect(connection!.expiresAt).toBeGreaterThanOrEqual(sent + TWELVE_HOURS);
      expect(connection!.expiresAt).toBeLessThanOrEqual(answered + TWELVE_HOURS);
      expect(redis.stats().connectionsByUser).toEqual({ [idp.googleServiceAccount]: 1 });
      await io.quit();
      await eventually(() => redis.stats().connections === 0);
    }
    expect(redis.stats().authRejected).toEqual({});
  });

  it("a token google-auth-library got from the emulator's metadata server opens a connection", async () => {
    const restoreEnvironment = pointGoogleAuthAt(idp);
    try {
      const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
      const { token: accessToken } = await (await auth.getClient()).getAccessToken();
      const io = client(redis, accessToken!, { username: "default" });
      await io.connect();
      expect(await io.ping()).toBe("PONG");
      await io.quit();
    } finally {
      restoreEnvironment();
    }
  });

  it("refuses another user, a foreign, tampered or expired token with WRONGPASS", async () => {
    const before = redis.stats().authRejected;
    const connection = await raw(redis);
    const foreign = await startIdentityEmulator();
    const refused = [
      ["AUTH", idp.googleServiceAccount, token()],
      ["AUTH", "admin", token()],
      ["AUTH", foreign.issueGoogleAccessToken()],
      ["AUTH", `${token().slice(0, -4)}AAAA`],
      ["HELLO", "3", "AUTH", "default", "ya29.opaque-but-not-ours"],
    ];
    await foreign.stop();
    for (const command of refused) {
      expect(plain(await connection.command(...command))).toEqual({ error: WRONGPASS });
    }
    expect(plain(await connection.command("PING"))).toEqual({ error: NOAUTH });
    const after = redis.stats().authRejected;
    const delta = (reason: string) => (after[reason] ?? 0) - (before[reason] ?? 0);
    expect(["user", "signature", "malformed"].map(delta)).toEqual([2, 2, 1]);

    // An expired token, presented once the connection is authenticated: refused, the
    // connection stays on its good one.
    const brief = token({ lifetimeMs: 1_000 });
    expect(plain(await connection.command("AUTH", token()))).toBe("OK");
    await untilAfter(Date.now() + 1_000, 50);
    expect(plain(await connection.command("AUTH", "default", brief))).toEqual({ error: WRONGPASS });
    expect(redis.stats().authRejected.expired).toBe((before.expired ?? 0) + 1);
    expect(plain(await connection.command("PING"))).toBe("PONG");
  });

  it("checks a token only at AUTH: a connection outlives its token", async () => {
    await eventually(() => redis.stats().connections === 0);
    const before = redis.stats();
    const brief = token({ lifetimeMs: 1_000 });
    const expiry = Date.now() + 1_000;
    const io = client(redis, brief);
    await io.connect();
    await untilAfter(expiry, 300);
    expect(await io.ping()).toBe("PONG");
    expect(await io.set("gcp:after-expiry", "still here")).toBe("OK");
    const after = redis.stats();
    expect(after.closedAtExpiry).toBe(0);
    expect(after.closedAtLifetimeLimit).toBe(before.closedAtLifetimeLimit);
    expect(after.connections).toBe(1);
  });

  it("principals: a valid token of a service account not granted the role is refused", async () => {
    const connection = await raw(limited);
    // A new second: this AUTH must not meet a budget other tests used.
    await untilAfter(Math.ceil(Date.now() / 1000) * 1000, 5);
    expect(
      plain(await connection.command("AUTH", "default", token({ serviceAccount: OTHER_ACCOUNT }))),
    ).toEqual({ error: WRONGPASS });
    expect(limited.stats().authRejected.principal).toBeGreaterThanOrEqual(1);
  });
});

describe("newConnectionsPerSecond", () => {
  it("a pipelined AUTH beyond the limit is answered ERR_IAM_EXHAUSTED, in order, then the PING's NOAUTH", async () => {
    const connections = await Promise.all([raw(limited), raw(limited), raw(limited)]);
    const [first, second, third] = connections as [RawClient, RawClient, RawClient];
    const { replies, before, after } = await withinOneSecond(async () => {
      const before = limited.stats();
      const accepted = await Promise.all(
        [first, second].map((connection) => connection.command("AUTH", token())),
      );
      third.write(Buffer.concat([encodeCommand(["AUTH", token()]), encodeCommand(["PING"])]));
      const replies = [...accepted, await third.next(), await third.next()].map(plain);
      return { replies, before, after: limited.stats() };
    });
    expect(replies.slice(0, 2)).toEqual(["OK", "OK"]);
    expect(replies[2]).toEqual({ error: expect.stringMatching(IAM_EXHAUSTED) });
    expect(replies[3]).toEqual({ error: NOAUTH });
    expect(after.iamExhausted - before.iamExhausted).toBe(1);
    expect(after.authErrorReplies.ERR_IAM_EXHAUSTED).toBe(after.iamExhausted);
    expect(after.authRejected).toEqual(before.authRejected);
    expect(after.authAttempts - before.authAttempts).toBe(3);
    expect(after.authSuccesses - before.authSuccesses).toBe(2);

    // The next second has a fresh budget: the same connection gets in.
    await untilAfter(Math.ceil(Date.now() / 1000) * 1000, 5);
    expect(plain(await third.command("AUTH", token()))).toBe("OK");
  });

  it("HELLO 3 AUTH beyond the limit gets ERR_IAM_EXHAUSTED too, and the connection stays on RESP2", async () => {
    const connections = await Promise.all([raw(limited), raw(limited), raw(limited)]);
    const [first, second, third] = connections as [RawClient, RawClient, RawClient];
    const replies = await withinOneSecond(async () => {
      await Promise.all([first, second].map((connection) => connection.command("AUTH", token())));
      const hello = await third.command("HELLO", "3", "AUTH", "default", token());
      return [hello, await third.command("PING")].map(plain);
    });
    expect(replies).toEqual([{ error: expect.stringMatching(IAM_EXHAUSTED) }, { error: NOAUTH }]);
  });

  it("ioredis sees the ERR_IAM_EXHAUSTED error when it connects beyond the limit", async () => {
    const errors = await withinOneSecond(async () => {
      const ios = [0, 1, 2].map(() =>
        client(limited, token(), { protocol: 3, username: "default" }),
      );
      const errors: string[] = [];
      for (const io of ios) io.on("error", (error: Error) => errors.push(error.message));
      const results = await Promise.allSettled(ios.map((io) => io.connect()));
      return { results, errors };
    });
    const rejected = errors.results.filter((result) => result.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect(
      [...errors.errors, String((rejected[0] as PromiseRejectedResult).reason)].join("\n"),
    ).toMatch(/ERR_IAM_EXHAUSTED/);
  });

  it("a re-AUTH of an authenticated connection is not limited", async () => {
    const [authenticated, ...others] = await Promise.all([
      raw(limited),
      raw(limited),
      raw(limited),
      raw(limited),
    ]);
    // In a second of its own, out of the budgets other tests used.
    await untilAfter(Math.ceil(Date.now() / 1000) * 1000, 5);
    expect(plain(await authenticated!.command("AUTH", token()))).toBe("OK");
    const replies = await withinOneSecond(async () => {
      // The second's budget used up by new connections...
      const fresh = await Promise.all(
        others.map((connection) => connection.command("AUTH", token())),
      );
      // ...a connection that authenticated before re-AUTHs as often as it likes.
      const again = [];
      for (let i = 0; i < 3; i++) again.push(await authenticated!.command("AUTH", token()));
      return { fresh: fresh.map(plain), again: again.map(plain) };
    });
    // The three AUTHs race on their own sockets: two get in, whichever they are.
    expect(replies.fresh.filter((reply) => reply === "OK")).toHaveLength(2);
    expect(replies.fresh).toContainEqual({ error: expect.stringMatching(IAM_EXHAUSTED) });
    expect(replies.again).toEqual(["OK", "OK", "OK"]);
  });
});

describe("clusters and sentinel in GCP mode", () => {
  it("a cluster accepts the token on every node, and serves ioredis's Cluster over TLS", async () => {
    const password = token();
    for (const node of cluster.nodes) {
      const connection = await raw(cluster, node.port);
      expect(plain(await connection.command("AUTH", "default", password))).toBe("OK");
      expect(plain(await connection.command("PING"))).toBe("PONG");
    }
    const io = new Cluster([{ host: cluster.host, port: cluster.port }], {
      redisOptions: { username: "default", password, tls: { ca: cluster.ca! } },
    });
    closers.push(() => io.quit());
    const keys = Array.from({ length: 60 }, (_, i) => `gcp:key:${i}`);
    for (const key of keys) await io.set(key, key);
    expect(await Promise.all(keys.map((key) => io.get(key)))).toEqual(keys);
    expect(io.nodes("master")).toHaveLength(3);
    const stats = cluster.stats();
    expect(stats.authRejected).toEqual({});
    expect(stats.iamExhausted).toBe(0);
    expect(stats.connectionsByUser[idp.googleServiceAccount]).toBeGreaterThanOrEqual(3);
  });

  it("the budget of new connections is shared by every node of the cluster", async () => {
    const [a, b, c, d] = await Promise.all(
      [0, 1, 2, 0].map((index) => raw(limitedCluster, limitedCluster.nodes[index]!.port)),
    );
    const { replies, before, after } = await withinOneSecond(async () => {
      const before = limitedCluster.stats().iamExhausted;
      const replies = [];
      for (const connection of [a, b, c, d]) {
        replies.push(plain(await connection!.command("AUTH", token())));
      }
      return { replies, before, after: limitedCluster.stats().iamExhausted };
    });
    expect(replies.slice(0, 3)).toEqual(["OK", "OK", "OK"]);
    expect(replies[3]).toEqual({ error: expect.stringMatching(IAM_EXHAUSTED) });
    expect(after - before).toBe(1);
  });

  it("a sentinel setup serves a client that finds the master through sentinel", async () => {
    const io = new Redis({
      sentinels: sentinel.sentinels,
      name: sentinel.masterName,
      tls: { ca: sentinel.ca! },
      enableTLSForSentinelMode: true,
      password: token(),
    });
    closers.push(() => io.quit());
    await io.set("gcp:sentinel", "value");
    expect(await io.get("gcp:sentinel")).toBe("value");
    expect(sentinel.stats()).toMatchObject({
      authRejected: {},
      connectionsByUser: { [idp.googleServiceAccount]: 1 },
    });
  });
});
