import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { Cluster } from "ioredis";
import type { TokenCluster } from "../../src/cluster";
import { createTokenIssuer, newId } from "../../src/token-issuer";
import { startTokenRedis } from "../../src/token-redis";
import { eventually, plain, RawClient } from "./token-redis-helpers";

// One plain-TCP cluster (3 shards, one replica each) that these tests disturb in turn, in order.
const issuer = createTokenIssuer();
const user = newId();
let redis: TokenCluster;
let io: Cluster;

beforeAll(async () => {
  redis = await startTokenRedis({
    identity: issuer,
    tls: false,
    cluster: { masters: 3, replicasPerMaster: 1 },
  });
  // Lazy: the first test asserts that no client connection exists before its first command.
  io = new Cluster([{ host: redis.host, port: redis.port }], {
    lazyConnect: true,
    redisOptions: { username: user, password: issuer.issueToken({ objectId: user }) },
  });
}, 30_000);
afterAll(async () => {
  io?.disconnect();
  await redis?.stop();
});

const clients: RawClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function authenticated(port: number) {
  const client = await RawClient.connect(port);
  clients.push(client);
  expect(plain(await client.command("AUTH", user, issuer.issueToken({ objectId: user })))).toBe(
    "OK",
  );
  return client;
}

/** The role of the node at `port` in the CLUSTER NODES of the node at `observer`. */
async function roleSeenBy(observer: number, port: number) {
  const client = await authenticated(observer);
  expect(plain(await client.command("CLUSTER", "INFO"))).toMatch(/^cluster_state:ok\r$/m);
  const text = plain(await client.command("CLUSTER", "NODES")) as string;
  const line = text
    .split("\n")
    .find((entry) => entry.split(" ")[1]!.startsWith(`127.0.0.1:${port}@`));
  return line!.split(" ")[2]!.replace("myself,", "");
}

/** The role of the node at `port` as every node sees it (each seeing the cluster ok). */
const rolesOf = (port: number) =>
  Promise.all(redis.nodes.map((node) => roleSeenBy(node.port, port)));

/** redis-server processes started by this test process (through their watchdogs). */
async function ownRedisServers(): Promise<number[]> {
  const { stdout } = await promisify(execFile)("ps", ["-A", "-o", "pid=,ppid=,comm="]);
  const rows = stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm ?? "" }));
  const descendants = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (descendants.has(row.ppid) && !descendants.has(row.pid)) {
        descendants.add(row.pid);
        grew = true;
      }
    }
  }
  return rows
    .filter((row) => descendants.has(row.pid) && row.comm.startsWith("redis-server"))
    .map((row) => row.pid);
}

const keys = Array.from({ length: 60 }, (_, i) => `fault:${i}`);

describe("startTokenRedis({ cluster }): failover and faults", () => {
  it("keeps replication out of the connections and counters clients see", async () => {
    // Three replicas replicate through their masters' proxies, yet no client has connected.
    expect(redis.connections()).toEqual([]);
    expect(redis.stats()).toMatchObject({ authAttempts: 0, authSuccesses: 0, connections: 0 });
    expect(redis.stats().connectionsByUser).toEqual({});
    expect(redis.stats()).toMatchObject({ perConnection: [], perSecond: [] });
    for (const key of keys) await io.set(key, key);
    expect(redis.stats().connectionsByUser[user]).toBeGreaterThanOrEqual(3);
    expect(redis.stats().authAttempts).toBe(redis.stats().authSuccesses);
  });

  it("failover(shard) promotes the shard's replica, every node agrees, and clients keep working", async () => {
    const [master, replica] = [redis.nodes[0]!.port, redis.nodes[3]!.port];
    expect(await rolesOf(replica)).toEqual(Array(6).fill("slave"));
    await redis.failover(0);
    expect(await rolesOf(replica)).toEqual(Array(6).fill("master"));
    expect(await rolesOf(master)).toEqual(Array(6).fill("slave"));
    // Data written before the failover is on the new master; the client follows the new topology.
    expect(await Promise.all(keys.map((key) => io.get(key)))).toEqual(keys);
    await io.set("fault:after", "yes");
    expect(await io.get("fault:after")).toBe("yes");
    // And back again.
    await redis.failover(0);
    expect(await rolesOf(master)).toEqual(Array(6).fill("master"));
    expect(await io.get("fault:0")).toBe("fault:0");
  });

  it("failover(shard) takes over from a hung master, which rejoins as a replica once resumed", async () => {
    const [master, replica] = [redis.nodes[1]!.port, redis.nodes[4]!.port];
    redis.pauseNode(1);
    try {
      await redis.failover(1);
      const running = redis.nodes.filter((node) => node.port !== master);
      const roles = await Promise.all(running.map((node) => roleSeenBy(node.port, replica)));
      expect(roles).toEqual(Array(5).fill("master"));
    } finally {
      redis.resumeNode(1);
    }
    // Failing back waits for the old master to rejoin, in sync, as the replica.
    await redis.failover(1);
    expect(await rolesOf(master)).toEqual(Array(6).fill("master"));
    expect(await rolesOf(replica)).toEqual(Array(6).fill("slave"));
  });

  it("failover rejects a shard that does not exist", async () => {
    await expect(redis.failover(3)).rejects.toMatchObject({ name: "InvalidOptionsError" });
  });

  it("pauseNode hangs one node until resumeNode, or for the time given", async () => {
    const client = await authenticated(redis.nodes[2]!.port);
    redis.pauseNode(2);
    const reply = client.command("PING");
    await expect(client.next(300)).rejects.toThrow("no reply in time");
    redis.resumeNode(2);
    expect(plain(await reply)).toBe("PONG");
    // With a duration, the node comes back by itself.
    const paused = Date.now();
    redis.pauseNode(2, 300);
    expect(plain(await client.command("PING"))).toBe("PONG");
    expect(Date.now() - paused).toBeGreaterThanOrEqual(280);
  });

  it("restartNode restarts one node with its identity; its clients are disconnected and the cluster heals", async () => {
    const before = await authenticated(redis.nodes[1]!.port);
    const id = plain(await before.command("CLUSTER", "MYID"));
    await redis.restartNode(1);
    await before.closed;
    const after = await authenticated(redis.nodes[1]!.port);
    expect(plain(await after.command("CLUSTER", "MYID"))).toBe(id);
    expect(await rolesOf(redis.nodes[1]!.port)).toEqual(Array(6).fill("master"));
    // A restart is a crash without persistence: the shard comes back empty, and writable.
    await io.set("fault:restarted", "yes");
    expect(await io.get("fault:restarted")).toBe("yes");
  });

  it("killConnections closes client connections on every node, never replication", async () => {
    await Promise.all(keys.map((key) => io.get(key)));
    const live = redis.connections();
    expect(live.filter((connection) => connection.user === user).length).toBeGreaterThanOrEqual(3);
    expect(new Set(live.map((connection) => connection.port)).size).toBeGreaterThanOrEqual(3);
    expect(redis.killConnections()).toBe(live.length);
    expect(redis.connections()).toEqual([]);
    // The replicas are still linked to their masters.
    for (const replica of redis.nodes.slice(3)) {
      const client = await authenticated(replica.port);
      expect(plain(await client.command("INFO", "replication"))).toMatch(
        /^master_link_status:up\r$/m,
      );
    }
  });

  it("counts only client connections after a replica restarts and replicates through its master's proxy again", async () => {
    io.disconnect();
    await eventually(() => redis.connections().length === 0);
    const before = redis.stats();
    expect(before).toMatchObject({ connections: 0, connectionsByUser: {}, perConnection: [] });
    const [master, replica] = [redis.nodes[0]!, redis.nodes[3]!];
    const onMaster = await authenticated(master.port);
    const onReplica = await authenticated(replica.port);
    expect(plain(await onReplica.command("INFO", "replication"))).toMatch(/^role:slave\r$/m);
    // The replica's link runs through node 0's proxy, yet only the two clients are counted.
    expect(plain(await onMaster.command("CLIENT", "LIST", "TYPE", "replica"))).toMatch(/flags=S /);
    const ports = (connections: { clientPort: number }[]) =>
      connections.map((connection) => connection.clientPort).sort();
    const expectClients = (clients: RawClient[], authAttempts: number) => {
      const expected = ports(clients.map((client) => ({ clientPort: client.socket.localPort! })));
      expect(ports(redis.connections())).toEqual(expected);
      const stats = redis.stats();
      expect(ports(stats.perConnection)).toEqual(expected);
      expect(stats).toMatchObject({
        connections: clients.length,
        connectionsByUser: { [user]: clients.length },
        authAttempts: before.authAttempts + authAttempts,
        authSuccesses: before.authSuccesses + authAttempts,
      });
      const perSecond = stats.perSecond.reduce((sum, second) => sum + second.authAttempts, 0);
      expect(perSecond).toBe(stats.authAttempts);
    };
    expectClients([onMaster, onReplica], 2);

    await redis.restartNode(3);
    await onReplica.closed;
    // Right after the restart: the replica is linked to its master again, through the proxy.
    expectClients([onMaster], 2);
    const again = await authenticated(replica.port);
    expect(plain(await again.command("INFO", "replication"))).toMatch(/^master_link_status:up\r$/m);
    expect(plain(await onMaster.command("CLIENT", "LIST", "TYPE", "replica"))).toMatch(/flags=S /);
    expectClients([onMaster, again], 3);
    expect(redis.killConnections()).toBe(2);
    expect(redis.stats()).toMatchObject({ connections: 0, connectionsByUser: {} });
  });

  it("stop() leaves no redis-server process and no temporary directory", async () => {
    const ours = () =>
      readdirSync(tmpdir()).filter((name) => name.startsWith(`redis-credentials-${process.pid}-`));
    expect(await ownRedisServers()).toHaveLength(6);
    expect(ours().length).toBeGreaterThanOrEqual(7);
    io.disconnect();
    await redis.stop();
    expect(await ownRedisServers()).toEqual([]);
    expect(ours()).toEqual([]);
    await redis.stop();
  });
});
