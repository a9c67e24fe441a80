import { InvalidOptionsError } from "@redis-credentials/core";
import { Redis } from "ioredis";
import { createSentinel } from "redis";
import type { TokenSentinel } from "../../src/sentinel";
import { createTokenIssuer, newId, startTokenIssuer } from "../../src/token-issuer";
import { startTokenRedis } from "../../src/token-redis";
import {
  eventually,
  expiryOf,
  NOAUTH,
  ownRedisDirectories,
  plain,
  RawClient,
  redisServersIn,
  untilAfter,
  WRONGPASS,
} from "./token-redis-helpers";

// One TLS master with two replicas and a sentinel; the failover test, which changes who is
// master, runs last.
const issuer = createTokenIssuer();
const user = newId();
let redis: TokenSentinel;

beforeAll(async () => {
  redis = await startTokenRedis({ identity: issuer, sentinel: { replicas: 2 } });
});
afterAll(() => redis?.stop());

const clients: RawClient[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A connection to a node's proxy, over TLS. */
async function raw(port: number) {
  const client = await RawClient.connect(port, { ca: redis.ca! });
  clients.push(client);
  return client;
}

async function authenticated(port: number, token = issuer.issueToken({ objectId: user })) {
  const client = await raw(port);
  expect(plain(await client.command("AUTH", user, token))).toBe("OK");
  return client;
}

/** A connection to redis-sentinel: plain TCP, no AUTH. */
async function sentinel() {
  const client = await RawClient.connect(redis.sentinels[0]!.port);
  clients.push(client);
  return client;
}

/** SENTINEL MASTER / REPLICAS entries (flat name-value arrays) as records. */
const record = (entry: unknown) => {
  const values = entry as string[];
  return Object.fromEntries(values.flatMap((value, i) => (i % 2 ? [] : [[value, values[i + 1]]])));
};

const address = (node: { host: string; port: number }) => `${node.host}:${node.port}`;

describe("startTokenRedis({ sentinel })", () => {
  it("hands out only proxy addresses: the master's and the replicas'", async () => {
    expect(redis.nodes).toHaveLength(3);
    expect(new Set(redis.nodes.map((node) => node.port)).size).toBe(3);
    expect({ host: redis.host, port: redis.port }).toEqual(redis.nodes[0]);
    expect(redis.masterName).toBe("mymaster");
    expect(redis.sentinels).toEqual([{ host: "127.0.0.1", port: expect.any(Number) }]);
    expect(redis.ca).toContain("BEGIN CERTIFICATE");

    const client = await sentinel();
    expect(plain(await client.command("PING"))).toBe("PONG");
    expect(plain(await client.command("SENTINEL", "get-master-addr-by-name", "mymaster"))).toEqual([
      redis.host,
      String(redis.port),
    ]);
    const master = record(plain(await client.command("SENTINEL", "MASTER", "mymaster")));
    expect(master).toMatchObject({ flags: "master", "num-slaves": "2" });
    const replicas = (plain(await client.command("SENTINEL", "REPLICAS", "mymaster")) as unknown[])
      .map(record)
      .map((entry) => `${entry.ip}:${entry.port}`);
    expect(replicas.sort()).toEqual(redis.nodes.slice(1).map(address).sort());
  });

  it("serves token holders on the master and on the replicas, which replicate it", async () => {
    const master = await authenticated(redis.port);
    expect(plain(await master.command("ROLE"))).toEqual(expect.arrayContaining(["master"]));
    expect(plain(await master.command("SET", "sentinel:key", "v1"))).toBe("OK");
    // Both replicas acknowledge the write.
    expect(plain(await master.command("WAIT", "2", "2000"))).toBe(2);
    for (const node of redis.nodes.slice(1)) {
      const replica = await authenticated(node.port);
      expect((plain(await replica.command("ROLE")) as unknown[])[0]).toBe("slave");
      expect(plain(await replica.command("GET", "sentinel:key"))).toBe("v1");
      expect(plain(await replica.command("SET", "sentinel:key", "v2"))).toEqual({
        error: expect.stringMatching(/^READONLY/),
      });
    }
  });

  it("refuses commands before AUTH and forged tokens on every node", async () => {
    const forged = (await startTokenIssuer()).issueToken({ objectId: user });
    const before = redis.stats().authRejected.signature ?? 0;
    for (const node of redis.nodes) {
      const client = await raw(node.port);
      expect(plain(await client.command("GET", "sentinel:key"))).toEqual({ error: NOAUTH });
      expect(plain(await client.command("AUTH", user, forged))).toEqual({ error: WRONGPASS });
    }
    expect(redis.stats().authRejected.signature).toBe(before + 3);
  });

  it("closes connections on master and replicas when their token expires", async () => {
    const token = issuer.issueToken({ objectId: user, lifetimeMs: 1500 });
    const exp = expiryOf(token);
    const before = redis.stats().closedAtExpiry;
    const connections = await Promise.all(
      redis.nodes.map((node) => authenticated(node.port, token)),
    );
    await untilAfter(exp, -200);
    expect(connections.every((client) => client.isOpen)).toBe(true);
    for (const closedAt of await Promise.all(connections.map((client) => client.closed))) {
      expect(closedAt).toBeGreaterThanOrEqual(exp);
    }
    expect(redis.stats().closedAtExpiry).toBe(before + 3);
  });

  it("counts and kills only client connections: replication and sentinel's links stay", async () => {
    // The previous tests' connections are gone once the proxies have seen them close.
    await eventually(() => redis.stats().connections === 0);
    const connections = await Promise.all(redis.nodes.map((node) => authenticated(node.port)));
    expect(redis.stats().connections).toBe(3);
    expect(redis.connections().map((connection) => connection.port)).toEqual(
      expect.arrayContaining(redis.nodes.map((node) => node.port)),
    );
    expect(redis.killConnections()).toBe(3);
    await Promise.all(connections.map((client) => client.closed));
    expect(redis.stats().connections).toBe(0);
    const master = await authenticated(redis.port);
    expect(plain(await master.command("SET", "sentinel:after-kill", "v"))).toBe("OK");
    expect(plain(await master.command("WAIT", "2", "2000"))).toBe(2);
    const client = await sentinel();
    const replicas = (plain(await client.command("SENTINEL", "REPLICAS", "mymaster")) as unknown[])
      .map(record)
      .map((entry) => entry.flags);
    expect(replicas).toEqual(["slave", "slave"]);
  });

  it("serves ioredis' sentinel clients over TLS with tokens: master and replica", async () => {
    const options = {
      sentinels: redis.sentinels,
      name: redis.masterName,
      tls: { ca: redis.ca! },
      enableTLSForSentinelMode: true,
      username: user,
      password: issuer.issueToken({ objectId: user }),
    };
    const master = new Redis(options);
    const replica = new Redis({ ...options, role: "slave" });
    closers.push(
      () => master.quit(),
      () => replica.quit(),
    );
    for (const client of [master, replica]) client.on("error", () => {});
    expect(await master.set("sentinel:io", "tls")).toBe("OK");
    expect(await master.wait(2, 2000)).toBe(2);
    expect(await replica.get("sentinel:io")).toBe("tls");
    expect(master.stream.remotePort).toBe(redis.port);
    expect(redis.nodes.slice(1).map((node) => node.port)).toContain(replica.stream.remotePort);
  });

  it("serves node-redis' createSentinel over TLS with tokens: master pool and replica reads", async () => {
    const client = createSentinel({
      name: redis.masterName,
      sentinelRootNodes: redis.sentinels,
      nodeClientOptions: {
        username: user,
        password: issuer.issueToken({ objectId: user }),
        socket: { tls: true, ca: redis.ca! },
      },
      replicaPoolSize: 1,
    });
    client.on("error", () => {});
    await client.connect();
    closers.push(async () => {
      if (client.isOpen) await client.close();
    });
    expect(await client.set("sentinel:nr", "tls")).toBe("OK");
    await client.use(async (lease) => expect(await lease.wait(2, 2000)).toBe(2));
    // A read-only command goes to a replica.
    expect(await client.get("sentinel:nr")).toBe("tls");
    expect(client.getMasterNode()).toEqual(redis.nodes[0]);
    expect([...client.getReplicaNodes().keys()].sort((a, b) => a.port - b.port)).toEqual(
      redis.nodes.slice(1).sort((a, b) => a.port - b.port),
    );
  });

  it("failover() promotes a replica whose proxy then takes writes; the old master replicates it", async () => {
    const oldMaster = redis.port;
    const before = await authenticated(oldMaster);
    await redis.failover();
    const promoted = redis.port;
    expect(promoted).not.toBe(oldMaster);
    expect(redis.nodes.slice(1).map((node) => node.port)).toContain(promoted);

    const client = await sentinel();
    expect(plain(await client.command("SENTINEL", "get-master-addr-by-name", "mymaster"))).toEqual([
      "127.0.0.1",
      String(promoted),
    ]);
    // The old master's clients were disconnected, as sentinel does when it demotes a master.
    await before.closed;

    const master = await authenticated(promoted);
    expect((plain(await master.command("ROLE")) as unknown[])[0]).toBe("master");
    expect(plain(await master.command("SET", "sentinel:key", "after-failover"))).toBe("OK");
    expect(plain(await master.command("WAIT", "2", "2000"))).toBe(2);
    const demoted = await authenticated(oldMaster);
    expect(plain(await demoted.command("ROLE"))).toEqual(
      expect.arrayContaining(["slave", "127.0.0.1", promoted]),
    );
    expect(plain(await demoted.command("GET", "sentinel:key"))).toBe("after-failover");
  }, 60_000); // a failover takes ~5–10 s alone, more on a loaded machine

  it.each([
    ["sentinel", { sentinel: null }],
    ["sentinel", { sentinel: {}, cluster: { masters: 3 } }],
    ["sentinel.replicas", { sentinel: { replicas: -1 } }],
    ["sentinel.replicas", { sentinel: { replicas: 1.5 } }],
    ["sentinel.replicas", { sentinel: { replicas: 9 } }],
    ["sentinel.masterName", { sentinel: { masterName: "" } }],
    ["sentinel.masterName", { sentinel: { masterName: "my master" } }],
  ])("rejects a wrong %s (%j) before starting anything", async (option, options) => {
    const started = startTokenRedis({ identity: issuer, ...(options as object) });
    await expect(started).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(started).rejects.toMatchObject({ option });
  });

  it("stop() leaves no redis-server process and no temporary directory behind", async () => {
    const before = new Set(ownRedisDirectories());
    const own = await startTokenRedis({
      identity: issuer,
      tls: false,
      sentinel: { replicas: 1, masterName: "other" },
    });
    const dirs = ownRedisDirectories().filter((dir) => !before.has(dir));
    // The config directory, master, replica and sentinel.
    expect(dirs).toHaveLength(4);
    expect(dirs.flatMap((dir) => redisServersIn(dir))).toHaveLength(3);
    const client = await RawClient.connect(own.sentinels[0]!.port);
    expect(plain(await client.command("SENTINEL", "get-master-addr-by-name", "other"))).toEqual([
      "127.0.0.1",
      String(own.port),
    ]);
    await own.stop();
    await own.stop();
    await client.closed;
    await eventually(() => dirs.flatMap((dir) => redisServersIn(dir)).length === 0);
    expect(ownRedisDirectories().filter((dir) => !before.has(dir))).toEqual([]);
    for (const node of [...own.nodes, ...own.sentinels]) {
      await expect(RawClient.connect(node.port)).rejects.toThrow(/ECONNREFUSED/);
    }
  });
});
