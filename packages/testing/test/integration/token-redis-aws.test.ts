import Redis, { Cluster } from "ioredis";
import type { AwsVerifierOptions } from "../../src/aws-verifier";
import type { TokenCluster } from "../../src/cluster";
import type { TokenSentinel } from "../../src/sentinel";
import { startTokenRedis, type TokenRedis } from "../../src/token-redis";
import { expiryOfAwsToken, presign } from "../aws-presign";
import { plain, RawClient, untilAfter, WRONGPASS } from "./token-redis-helpers";

// AWS mode end to end: ioredis clients AUTH over TLS with ElastiCache IAM tokens presigned by the
// AWS SDK's signer, against real redis-servers behind the enforcing proxy.

const KEY = { accessKeyId: "AKIAINTEGRATIONKEY01", secretAccessKey: "integration/secret+key" };
const ROLE = {
  accessKeyId: "ASIAINTEGRATIONROLE1",
  secretAccessKey: "role-secret",
  sessionToken: "role/session+token==",
};
const AWS = {
  credentials: [KEY, ROLE],
  region: "eu-central-1",
  cacheName: "integration-cache",
  userId: "app-user-01",
} satisfies AwsVerifierOptions;
const LIFETIME_MS = 1_500;
/** How late a close may come after its deadline on a loaded machine (the timer fires on time). */
const PRECISION_MS = 200;

/** A 12-hour connection lifetime, as on AWS. */
let redis: TokenRedis;
/** Connections live 1.5 s after their last AUTH. */
let short: TokenRedis;
let cluster: TokenCluster;
let sentinel: TokenSentinel;

beforeAll(async () => {
  [redis, short, cluster, sentinel] = await Promise.all([
    startTokenRedis({ aws: AWS }),
    startTokenRedis({ aws: { ...AWS, connectionLifetimeMs: LIFETIME_MS } }),
    startTokenRedis({ aws: AWS, cluster: { masters: 3 } }),
    startTokenRedis({ aws: AWS, sentinel: { replicas: 1 } }),
  ]);
}, 60_000);
afterAll(() => Promise.all([redis?.stop(), short?.stop(), cluster?.stop(), sentinel?.stop()]));

const closers: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const token = (options: Partial<Parameters<typeof presign>[0]> = {}) =>
  presign({ ...AWS, credentials: KEY, ...options });

/** An ioredis client over TLS that does not reconnect: a close by the server stays visible. */
function client(server: TokenRedis, password: string, options: { protocol?: 2 | 3 } = {}) {
  const redisClient = new Redis({
    host: server.host,
    port: server.port,
    tls: { ca: server.ca! },
    username: AWS.userId,
    password,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    ...options,
  });
  redisClient.on("error", () => {});
  // ioredis arms a timer on every disconnect(), which a socket already closed never clears.
  closers.push(() => redisClient.status !== "end" && redisClient.disconnect());
  const closedAt = new Promise<number>((resolve) =>
    redisClient.once("close", () => resolve(Date.now())),
  );
  return Object.assign(redisClient, { closedAt });
}

/** The server's view of the one live connection. */
function onlyConnection(server: TokenRedis) {
  const connections = server.connections();
  expect(connections).toHaveLength(1);
  return connections[0]!;
}

describe("startTokenRedis({ aws }): ElastiCache IAM authentication", () => {
  it("an ioredis client AUTHs with a presigned token over TLS (RESP2 and RESP3) and runs commands", async () => {
    for (const protocol of [2, 3] as const) {
      // ioredis AUTHs with AUTH on RESP2 and with HELLO 3 AUTH on RESP3.
      const io = client(redis, await token(), { protocol });
      await io.connect();
      await io.set(`aws:${protocol}`, "value");
      expect(await io.get(`aws:${protocol}`)).toBe("value");
      expect(await io.incr(`aws:counter:${protocol}`)).toBe(1);
      expect(onlyConnection(redis)).toMatchObject({ user: AWS.userId, authSuccesses: 1 });
      expect(redis.stats().connectionsByUser).toEqual({ [AWS.userId]: 1 });
      io.disconnect();
      await io.closedAt;
    }
    // Role credentials: the session token rides in the token.
    const role = client(redis, await token({ credentials: ROLE }));
    await role.connect();
    expect(await role.ping()).toBe("PONG");
    expect(redis.stats().authRejected).toEqual({});
  });

  it("refuses a wrong token with WRONGPASS, and keeps the connection on its last good one", async () => {
    const io = client(redis, await token());
    await io.connect();
    const before = redis.stats().authRejected;
    const wrong = [
      // A tampered token, another key's signature, another user, an expired token.
      (await token()).replace("User=app-user-01", "User=app-user-02"),
      await token({ credentials: { ...KEY, secretAccessKey: "not-the-secret" } }),
      await token({ userId: "someone-else" }),
      await token({ signingDate: new Date(Date.now() - 901_000) }),
    ];
    for (const password of wrong) {
      await expect(io.auth(AWS.userId, password)).rejects.toThrow(WRONGPASS);
    }
    // The right token, under another AUTH user name.
    await expect(io.auth("default", await token())).rejects.toThrow(WRONGPASS);
    const after = redis.stats().authRejected;
    const delta = (reason: string) => (after[reason] ?? 0) - (before[reason] ?? 0);
    expect(["signature", "user", "expired"].map(delta)).toEqual([2, 2, 1]);
    expect(await io.ping()).toBe("PONG");

    // A new connection with a wrong token gets no further.
    const bad = client(redis, wrong[1]!);
    const errors: Error[] = [];
    bad.on("error", (error) => errors.push(error));
    await expect(bad.connect()).rejects.toThrow();
    expect(errors.map((error) => error.message)).toContain(WRONGPASS);
  });

  it("checks a token only when presented: a connection outlives its token", async () => {
    // Signed a second ahead (within the allowed skew) to expire 1 to 2 s from now.
    const brief = await token({ signingDate: new Date(Date.now() + 1_000), expiresIn: 1 });
    const io = client(redis, brief);
    await io.connect();
    await untilAfter(expiryOfAwsToken(brief), 100);
    expect(await io.ping()).toBe("PONG");
    // Presented again, the expired token is refused.
    await expect(io.auth(AWS.userId, brief)).rejects.toThrow(WRONGPASS);
    expect(await io.ping()).toBe("PONG");
  });

  it("closes a connection connectionLifetimeMs after its last successful AUTH (closedAtLifetimeLimit)", async () => {
    const before = short.stats();
    const io = client(short, await token());
    const sent = Date.now();
    await io.connect();
    const answered = Date.now();
    const { expiresAt } = onlyConnection(short);
    // The deadline is counted from the AUTH, not from the token's 15-minute expiry.
    expect(expiresAt).toBeGreaterThanOrEqual(sent + LIFETIME_MS);
    expect(expiresAt).toBeLessThanOrEqual(answered + LIFETIME_MS);
    expect(await io.ping()).toBe("PONG");
    const closedAt = await io.closedAt;
    expect(closedAt - expiresAt!).toBeGreaterThanOrEqual(0);
    expect(closedAt - expiresAt!).toBeLessThan(PRECISION_MS);
    const after = short.stats();
    expect(after.closedAtLifetimeLimit - before.closedAtLifetimeLimit).toBe(1);
    expect(after.closedAtExpiry).toBe(before.closedAtExpiry);
    expect(after.connections).toBe(0);
  });

  it("an AUTH with a fresh token before the limit extends it; a refused one does not", async () => {
    const before = short.stats().closedAtLifetimeLimit;
    const extended = client(short, await token());
    const refused = client(short, await token());
    await Promise.all([extended.connect(), refused.connect()]);
    const firstDeadline = Math.max(...short.connections().map((c) => c.expiresAt!));
    await untilAfter(firstDeadline - LIFETIME_MS, LIFETIME_MS / 2);

    const sent = Date.now();
    expect(await extended.auth(AWS.userId, await token())).toBe("OK");
    await expect(refused.auth(AWS.userId, "my-cache/?Action=connect")).rejects.toThrow(WRONGPASS);
    const byPort = (io: Redis) =>
      short.connections().find((c) => c.clientPort === io.stream.localPort)!;
    const newDeadline = byPort(extended).expiresAt!;
    expect(newDeadline).toBeGreaterThanOrEqual(sent + LIFETIME_MS);
    expect(byPort(extended).authSuccesses).toBe(2);

    // Past the first deadline: the refused one is gone, the extended one still answers.
    const refusedClosedAt = await refused.closedAt;
    expect(refusedClosedAt).toBeLessThan(newDeadline);
    await untilAfter(firstDeadline, PRECISION_MS);
    expect(await extended.ping()).toBe("PONG");
    const closedAt = await extended.closedAt;
    expect(closedAt - newDeadline).toBeGreaterThanOrEqual(0);
    expect(closedAt - newDeadline).toBeLessThan(PRECISION_MS);
    expect(short.stats().closedAtLifetimeLimit - before).toBe(2);
  });

  it("a cluster in AWS mode accepts the token on every node", async () => {
    const password = await token();
    for (const node of cluster.nodes) {
      const raw = await RawClient.connect(node.port, { ca: cluster.ca! });
      closers.push(() => raw.close());
      expect(plain(await raw.command("AUTH", AWS.userId, password))).toBe("OK");
      expect(plain(await raw.command("PING"))).toBe("PONG");
    }

    const io = new Cluster([{ host: cluster.host, port: cluster.port }], {
      redisOptions: { username: AWS.userId, password, tls: { ca: cluster.ca! } },
    });
    closers.push(() => io.quit());
    const keys = Array.from({ length: 60 }, (_, i) => `aws:key:${i}`);
    for (const key of keys) await io.set(key, key);
    expect(await Promise.all(keys.map((key) => io.get(key)))).toEqual(keys);
    const masters = io.nodes("master");
    expect(masters).toHaveLength(3);
    for (const master of masters) expect(await master.dbsize()).toBeGreaterThan(0);
    const stats = cluster.stats();
    expect(stats.authRejected).toEqual({});
    expect(stats.connectionsByUser[AWS.userId]).toBeGreaterThanOrEqual(3);
  });

  it("a sentinel setup in AWS mode serves a client that finds the master through sentinel", async () => {
    const io = new Redis({
      sentinels: sentinel.sentinels,
      name: sentinel.masterName,
      tls: { ca: sentinel.ca! },
      enableTLSForSentinelMode: true,
      username: AWS.userId,
      password: await token(),
    });
    closers.push(() => io.quit());
    await io.set("aws:sentinel", "value");
    expect(await io.get("aws:sentinel")).toBe("value");
    expect(sentinel.stats()).toMatchObject({
      authRejected: {},
      connectionsByUser: { [AWS.userId]: 1 },
    });
  });
});
