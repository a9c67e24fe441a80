import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { createClient } from "redis";
import { createCertificateAuthority } from "../../src/certificates";
import { encodeCommand } from "../../src/resp";
import { createTokenIssuer, newId } from "../../src/token-issuer";
import { startTokenRedis, type TokenRedis } from "../../src/token-redis";
import {
  eventually,
  expiryOf,
  ownRedisDirectories,
  plain,
  RawClient,
  redisServersIn,
  sleep,
} from "./token-redis-helpers";

// Everything here goes over TLS (the default), trusting the server's CA.
const issuer = createTokenIssuer();
const user = newId();
const token = () => issuer.issueToken({ objectId: user, lifetimeMs: 60_000 });
let redis: TokenRedis;

beforeAll(async () => {
  redis = await startTokenRedis({ identity: issuer });
});
afterAll(() => redis.stop());

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function ioredis(options: { protocol?: 2 | 3; user?: string } = {}) {
  const client = new Redis({
    host: redis.host,
    port: redis.port,
    tls: { ca: redis.ca! },
    username: options.user ?? user,
    password: issuer.issueToken({ objectId: options.user ?? user, lifetimeMs: 60_000 }),
    protocol: options.protocol ?? 3,
  });
  cleanups.push(() => client.disconnect());
  return client;
}

async function nodeRedis(RESP: 2 | 3 = 3) {
  const client = createClient({
    socket: { host: redis.host, port: redis.port, tls: true, ca: redis.ca! },
    username: user,
    password: token(),
    RESP,
  });
  client.on("error", () => {});
  cleanups.push(() => client.destroy());
  await client.connect();
  return client;
}

async function raw() {
  const client = await RawClient.connect(redis.port, { ca: redis.ca! });
  cleanups.push(() => client.close());
  return client;
}

const mine = (client: RawClient) =>
  redis.connections().find((c) => c.clientPort === client.socket.localPort);

describe("startTokenRedis: Redis behaves as plain Redis through the enforcement", () => {
  it("serves TLS with a certificate the CA signed, and refuses clients that do not trust it", async () => {
    expect(redis.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(redis.nodes).toEqual([{ host: "127.0.0.1", port: redis.port }]);
    const client = await raw();
    expect(plain(await client.command("AUTH", user, token()))).toBe("OK");
    await expect(
      RawClient.connect(redis.port, { ca: (await createCertificateAuthority()).ca }),
    ).rejects.toThrow(/certificate/);
  });

  it.each([2, 3] as const)(
    "delivers pub/sub messages with ioredis over RESP%i",
    async (protocol) => {
      const subscriber = ioredis({ protocol });
      const publisher = ioredis({ protocol });
      const messages: string[] = [];
      subscriber.on("message", (channel, message) => messages.push(`${channel}:${message}`));
      subscriber.on("pmessage", (_pattern, channel, message) =>
        messages.push(`p ${channel}:${message}`),
      );
      await subscriber.subscribe("news");
      await subscriber.psubscribe("sport.*");
      await publisher.publish("news", "one");
      await publisher.publish("sport.tennis", "two");
      await eventually(() => messages.length === 2);
      expect(messages).toEqual(["news:one", "p sport.tennis:two"]);
      await subscriber.unsubscribe("news");
      expect(await publisher.publish("news", "three")).toBe(0);
    },
  );

  it.each([2, 3] as const)(
    "delivers pub/sub messages with node-redis over RESP%i",
    async (RESP) => {
      const subscriber = await nodeRedis(RESP);
      const publisher = await nodeRedis(RESP);
      const messages: string[] = [];
      await subscriber.subscribe("alerts", (message, channel) =>
        messages.push(`${channel}:${message}`),
      );
      await publisher.publish("alerts", "fire");
      await eventually(() => messages.length === 1);
      expect(messages).toEqual(["alerts:fire"]);
    },
  );

  it("runs blocking commands: BLPOP waits for a push from another client", async () => {
    const blocked = ioredis();
    const pusher = ioredis();
    const popped = blocked.blpop("queue", 5);
    await sleep(100);
    await pusher.lpush("queue", "job");
    expect(await popped).toEqual(["queue", "job"]);
    const client = await nodeRedis();
    const nodePopped = client.blPop("queue2", 5);
    await sleep(100);
    await pusher.lpush("queue2", "job2");
    expect(await nodePopped).toEqual({ key: "queue2", element: "job2" });
  });

  it("runs MULTI/EXEC transactions and pipelines", async () => {
    const client = ioredis();
    expect(await client.multi().set("tx", "1").incr("tx").get("tx").exec()).toEqual([
      [null, "OK"],
      [null, 2],
      [null, "2"],
    ]);
    const pipeline = client.pipeline();
    for (let i = 0; i < 200; i++) pipeline.incr("counter");
    const results = await pipeline.exec();
    expect(results?.at(-1)).toEqual([null, 200]);
    const node = await nodeRedis(2);
    expect(await node.multi().set("ntx", "a").append("ntx", "b").get("ntx").exec()).toEqual([
      "OK",
      2,
      "ab",
    ]);
  });

  it.each([2, 3] as const)(
    "keeps replies matched to commands through pub/sub, errors and pipelines (RESP%i): a later re-AUTH still counts",
    async (protocol) => {
      const client = await raw();
      const hello =
        protocol === 3 ? ["HELLO", "3", "AUTH", user, token()] : ["AUTH", user, token()];
      expect(["simple", "map"]).toContain((await client.command(...hello)).type);
      const later = issuer.issueToken({ objectId: user, lifetimeMs: 120_000 });
      const commands = [
        ["SET", "k", "v"],
        ["SUBSCRIBE"],
        ["SUBSCRIBE", "a", "b", "a"],
        ["PSUBSCRIBE", "p*"],
        ["PING"],
        ["UNSUBSCRIBE"],
        ["PUNSUBSCRIBE", "p*", "q*"],
        ["UNSUBSCRIBE"],
        ["GET", "k"],
        ["AUTH", user, later],
        ["PING"],
      ];
      client.write(Buffer.concat(commands.map((command) => encodeCommand(command))));
      const replies: unknown[] = [];
      // SET, arity error, 3 + 1 confirmations, PING, 2 + 2 + 1 confirmations, GET, AUTH, PING.
      for (let i = 0; i < 15; i++) replies.push(plain(await client.next()));
      expect(replies.at(-3)).toBe("v");
      expect(replies.at(-2)).toBe("OK");
      expect(replies.at(-1)).toBe("PONG");
      expect(mine(client)?.expiresAt).toBe(expiryOf(later));
      expect(mine(client)?.authSuccesses).toBe(2);
    },
  );

  it("forwards MONITOR's feed, where AUTH arguments show redacted", async () => {
    const monitor = await raw();
    await monitor.command("AUTH", user, token());
    expect(plain(await monitor.command("MONITOR"))).toBe("OK");
    const other = await raw();
    await other.command("AUTH", user, token());
    await other.command("SET", "watched", "1");
    const feed = [String(plain(await monitor.next())), String(plain(await monitor.next()))];
    expect(feed[0]).toContain('"AUTH" "(redacted)" "(redacted)"');
    expect(feed[1]).toContain('"SET" "watched" "1"');
  });

  it("refuses CONFIG, as Azure does, so no client can read the internal password", async () => {
    const client = await raw();
    await client.command("AUTH", user, token());
    for (const args of [
      ["CONFIG", "GET", "requirepass"],
      ["config", "get", "*"],
      ["CONFIG", "SET", "maxmemory", "1mb"],
    ]) {
      const reply = await client.command(...args);
      expect(reply.type).toBe("error");
      expect(JSON.stringify(plain(reply))).not.toMatch(/requirepass|masterauth/);
    }
    // Replies stay matched to their commands after the refusal.
    expect(plain(await client.command("PING"))).toBe("PONG");
  });

  it("killConnections closes one user's connections or all of them", async () => {
    const other = newId();
    const a = await raw();
    await a.command("AUTH", user, token());
    const b = await raw();
    await b.command("AUTH", other, issuer.issueToken({ objectId: other }));
    expect(redis.stats().connectionsByUser[other]).toBe(1);
    expect(redis.killConnections({ user: other })).toBe(1);
    await b.closed;
    expect(a.isOpen).toBe(true);
    expect(redis.killConnections()).toBeGreaterThanOrEqual(1);
    await a.closed;
    expect(redis.stats().connections).toBe(0);
  });

  it("restartNode restarts the server; clients reconnect and authenticate again", async () => {
    const client = ioredis();
    await client.set("before", "1");
    const reconnected = new Promise((resolve) => client.once("reconnecting", resolve));
    await redis.restartNode();
    await reconnected;
    expect(await client.get("before")).toBeNull();
    expect(await client.ping()).toBe("PONG");
  });

  it("pauseNode makes commands hang until resumeNode, and pauseNode(index, ms) resumes by itself", async () => {
    const client = await raw();
    await client.command("AUTH", user, token());
    redis.pauseNode(0);
    client.write("*1\r\n$4\r\nPING\r\n");
    await expect(client.next(300)).rejects.toThrow(/no reply/);
    redis.resumeNode(0);
    expect(plain(await client.next())).toBe("PONG");
    redis.pauseNode(0, 300);
    const started = Date.now();
    expect(plain(await client.command("PING"))).toBe("PONG");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("stop() leaves no redis-server process and no temporary directory behind", async () => {
    const before = new Set(ownRedisDirectories());
    const own = await startTokenRedis({ identity: issuer, tls: false });
    const dirs = ownRedisDirectories().filter((dir) => !before.has(dir));
    expect(dirs).toHaveLength(1);
    expect(redisServersIn(dirs[0]!)).toHaveLength(1);
    const client = await RawClient.connect(own.port);
    await own.stop();
    await own.stop();
    await client.closed;
    expect(redisServersIn(dirs[0]!)).toEqual([]);
    expect(ownRedisDirectories().filter((dir) => !before.has(dir))).toEqual([]);
    await expect(RawClient.connect(own.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("a SIGKILLed parent leaves no redis-server behind", async () => {
    const child = spawn(
      process.execPath,
      [join(__dirname, "redis-process-child.cjs"), "token-redis"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk) => chunk.toString().includes("\n") && resolve());
      child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
    });
    const prefix = join(tmpdir(), `redis-credentials-${child.pid}-`);
    expect(redisServersIn(prefix)).toHaveLength(1);
    child.kill("SIGKILL");
    await eventually(() => redisServersIn(prefix).length === 0);
    await eventually(() => ownRedisDirectories(child.pid).length === 0);
  });
});
