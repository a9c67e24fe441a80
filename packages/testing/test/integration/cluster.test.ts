import { Cluster } from "ioredis";
import { createCluster } from "redis";
import type { TokenCluster } from "../../src/cluster";
import { createTokenIssuer, newId, startTokenIssuer } from "../../src/token-issuer";
import { startTokenRedis } from "../../src/token-redis";
import { expiryOf, NOAUTH, plain, RawClient, untilAfter, WRONGPASS } from "./token-redis-helpers";

// One TLS cluster (3 shards, one replica each) for every test here: none of them changes its shape.
const issuer = createTokenIssuer();
const user = newId();
let redis: TokenCluster;
let startMs: number;

beforeAll(async () => {
  const started = Date.now();
  redis = await startTokenRedis({
    identity: issuer,
    cluster: { masters: 3, replicasPerMaster: 1 },
  });
  startMs = Date.now() - started;
}, 30_000);
afterAll(() => redis?.stop());

const clients: RawClient[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(closers.splice(0).map((close) => close()));
});

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

const nodePorts = () => redis.nodes.map((node) => node.port);

/** Keys that land on every shard (100 keys: each shard gets about a third). */
const keys = Array.from({ length: 100 }, (_, i) => `key:${i}`);

describe("startTokenRedis({ cluster })", () => {
  it("starts in a few seconds with six TLS nodes on distinct loopback ports", () => {
    expect(startMs).toBeLessThan(10_000);
    expect(redis.nodes).toHaveLength(6);
    expect(new Set(nodePorts()).size).toBe(6);
    expect(redis.nodes.every((node) => node.host === "127.0.0.1")).toBe(true);
    expect({ host: redis.host, port: redis.port }).toEqual(redis.nodes[0]);
    expect(redis.ca).toContain("BEGIN CERTIFICATE");
  });

  it("tells clients only proxy addresses in CLUSTER SLOTS, SHARDS and NODES", async () => {
    const client = await authenticated(redis.port);
    const slots = plain(await client.command("CLUSTER", "SLOTS")) as [
      number,
      number,
      ...[string, number, string][],
    ][];
    const slotPorts = slots.flatMap(([, , ...nodes]) =>
      nodes.map(([host, port]) => `${host}:${port}`),
    );
    expect(slots).toHaveLength(3);
    // Each range lists its master and its replica.
    expect(slots.every((range) => range.length === 4)).toBe(true);

    const shards = plain(await client.command("CLUSTER", "SHARDS")) as unknown[][];
    const shardNodes = shards.flatMap((shard) => {
      const nodes = shard[shard.indexOf("nodes") + 1] as unknown[][];
      return nodes.map((fields) => {
        const field = (name: string) => fields[fields.indexOf(name) + 1];
        expect(fields).not.toContain("tls-port");
        return `${field("ip")}:${field("port")}`;
      });
    });

    const text = plain(await client.command("CLUSTER", "NODES")) as string;
    const nodesPorts = text
      .trim()
      .split("\n")
      .map((line) => line.split(" ")[1]!.split("@")[0]!);

    const expected = redis.nodes.map((node) => `${node.host}:${node.port}`).sort();
    for (const learned of [slotPorts, shardNodes, nodesPorts]) {
      expect([...new Set(learned)].sort()).toEqual(expected);
    }
  });

  it("answers a key of another shard with MOVED to a proxy, where the command succeeds", async () => {
    const client = await authenticated(redis.port);
    const moved: [key: string, address: string][] = [];
    for (const key of keys) {
      const reply = plain(await client.command("SET", key, "v")) as { error?: string } | string;
      if (typeof reply === "object" && reply.error?.startsWith("MOVED ")) {
        moved.push([key, reply.error.split(" ")[2]!]);
      }
    }
    // About two thirds of the keys belong to the other two shards, whose masters are nodes 1 and 2.
    expect(moved.length).toBeGreaterThan(40);
    expect([...new Set(moved.map(([, address]) => address))].sort()).toEqual(
      redis.nodes
        .slice(1, 3)
        .map((node) => `${node.host}:${node.port}`)
        .sort(),
    );
    const [key, address] = moved[0]!;
    const target = await authenticated(Number(address.split(":")[1]));
    expect(plain(await target.command("SET", key, "moved"))).toBe("OK");
    expect(plain(await target.command("GET", key))).toBe("moved");
  });

  it("serves ioredis' Cluster over TLS with tokens: it discovers every node and reaches all shards", async () => {
    const cluster = new Cluster([{ host: redis.host, port: redis.port }], {
      redisOptions: {
        username: user,
        password: issuer.issueToken({ objectId: user }),
        tls: { ca: redis.ca! },
      },
      scaleReads: "all",
    });
    closers.push(() => cluster.quit());
    for (const key of keys) await cluster.set(key, `io-${key}`);
    expect(await Promise.all(keys.map((key) => cluster.get(key)))).toEqual(
      keys.map((key) => `io-${key}`),
    );
    const learned = cluster.nodes("all").map((node) => node.options.port!);
    expect(learned.sort()).toEqual(nodePorts().sort());
    const masters = cluster.nodes("master");
    expect(masters).toHaveLength(3);
    // Every shard holds some of the keys.
    for (const master of masters) expect(await master.dbsize()).toBeGreaterThan(10);
    const users = redis.stats().connectionsByUser[user] ?? 0;
    expect(users).toBeGreaterThanOrEqual(3);
  });

  it("serves node-redis' createCluster over TLS with tokens: it discovers every node and reaches all shards", async () => {
    const cluster = createCluster({
      rootNodes: [{ socket: { host: redis.host, port: redis.port, tls: true, ca: redis.ca! } }],
      defaults: {
        username: user,
        password: issuer.issueToken({ objectId: user }),
        socket: { tls: true, ca: redis.ca! },
      },
      useReplicas: true,
    });
    cluster.on("error", () => {});
    await cluster.connect();
    closers.push(() => cluster.close());
    for (const key of keys) await cluster.set(key, `nr-${key}`);
    for (const key of keys) expect(await cluster.get(key)).toBe(`nr-${key}`);
    const learned = [...cluster.masters, ...cluster.replicas].map((node) => node.port);
    expect(learned.sort()).toEqual(nodePorts().sort());
    expect(cluster.masters).toHaveLength(3);
  });

  it("rejects a wrong token on every node and refuses commands before AUTH", async () => {
    const forged = (await startTokenIssuer()).issueToken({ objectId: user });
    const before = redis.stats().authRejected.signature ?? 0;
    for (const port of nodePorts()) {
      const client = await raw(port);
      expect(plain(await client.command("GET", "k"))).toEqual({ error: NOAUTH });
      expect(plain(await client.command("AUTH", user, forged))).toEqual({ error: WRONGPASS });
      expect(plain(await client.command("GET", "k"))).toEqual({ error: NOAUTH });
    }
    expect(redis.stats().authRejected.signature).toBe(before + 6);
  });

  it("closes a connection on every node when its token expires", async () => {
    const token = issuer.issueToken({ objectId: user, lifetimeMs: 1500 });
    const exp = expiryOf(token);
    const before = redis.stats().closedAtExpiry;
    const connections = await Promise.all(nodePorts().map((port) => authenticated(port, token)));
    for (const client of connections) expect(plain(await client.command("PING"))).toBe("PONG");
    await untilAfter(exp, -200);
    expect(connections.every((client) => client.isOpen)).toBe(true);
    const closedAt = await Promise.all(connections.map((client) => client.closed));
    for (const at of closedAt) {
      expect(at).toBeGreaterThanOrEqual(exp);
      expect(at).toBeLessThan(exp + 100);
    }
    expect(redis.stats().closedAtExpiry).toBe(before + 6);
  });
});
