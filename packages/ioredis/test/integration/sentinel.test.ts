import { createTokenManager, credentialsFromJwt, type TokenManager } from "@redis-credentials/core";
import {
  type ConnectionStats,
  createTokenIssuer,
  startTokenRedis,
  type TokenSentinel,
} from "@redis-credentials/testing";
import type { Redis } from "ioredis";
import { createRedis } from "../../src";
import { fastRotation, rotations, sleep, TOKEN_LIFETIME_MS } from "./helpers";

/*
 * ioredis clients that find their node through sentinel (`sentinels` + `name`): the master client
 * and a `role: "slave"` client, bound by createRedis, against a sentinel-managed master and
 * replica behind token-enforcing proxies. Each test has its own servers.
 */

const issuer = createTokenIssuer();
const OBJECT_ID = "00000000-0000-4000-8000-0000005e0002";
/**
 * fastRotation with more headroom: 3 s tokens renewed 2 s before they expire, about every second,
 * so that a loaded machine stalling this process for a second still renews them in time.
 */
const rotation = { ...fastRotation, refreshBeforeExpiryMs: 2_000 };

interface Setup {
  server: TokenSentinel;
  manager: TokenManager;
  master: Redis;
  replica: Redis;
  /** What either client emitted on `error`. */
  errors: string[];
  stop(): Promise<void>;
}

async function start(): Promise<Setup> {
  const server = await startTokenRedis({ identity: issuer, tls: false, sentinel: { replicas: 1 } });
  const manager = createTokenManager(
    {
      name: "test-issuer",
      fetch: async () =>
        credentialsFromJwt(
          issuer.issueToken({ objectId: OBJECT_ID, lifetimeMs: TOKEN_LIFETIME_MS }),
        ),
    },
    rotation,
  );
  const clients: Redis[] = [];
  const errors: string[] = [];
  const stop = async () => {
    for (const client of clients) client.disconnect();
    await manager.dispose();
    await server.stop();
  };
  try {
    const options = {
      sentinels: server.sentinels,
      name: server.masterName,
      allowInsecureTransport: true,
    };
    for (const role of ["master", "slave"] as const) {
      const client = await createRedis(manager, { ...options, role });
      client.on("error", (error: Error) => errors.push(`${role}: ${error.message}`));
      clients.push(client);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { server, manager, master: clients[0]!, replica: clients[1]!, errors, stop };
}

/** The token holder's live connections through the proxy on `port`. */
const connectionsOn = (server: TokenSentinel, port: number): ConnectionStats[] =>
  server.connections().filter((each) => each.port === port && each.user === OBJECT_ID);

/** The port of the node a client is connected to, as that node's proxy is the peer. */
const peerPort = (client: Redis) => client.stream.remotePort;

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Writes the key the replica client reads, and waits until the replica has it. */
async function seed(master: Redis) {
  await master.set("sentinel:fixed", "replicated");
  expect(await master.wait(1, 2_000)).toBe(1);
}

/**
 * Commands in a loop until stopped: INCR through the master client, GET of the replicated key
 * through the replica client. Every failure is kept.
 */
function traffic({ master, replica }: Setup) {
  let running = true;
  let commands = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const [count, value] = await Promise.allSettled([
        master.incr("sentinel:counter"),
        replica.get("sentinel:fixed"),
      ]);
      if (count.status === "rejected") failures.push(`INCR: ${count.reason}`);
      if (value.status === "rejected") failures.push(`GET: ${value.reason}`);
      else if (value.value !== "replicated") failures.push(`GET answered ${value.value}`);
      commands += 2;
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { commands, failures };
    },
  };
}

test.concurrent("a master client and a role: slave client stay authenticated across 5 rotations, renewed by AUTH past their first token", async () => {
  const setup = await start();
  const { server, manager, master, replica, errors } = setup;
  try {
    const masterPort = server.port;
    const replicaPort = server.nodes[1]!.port;
    expect(peerPort(master)).toBe(masterPort);
    expect(peerPort(replica)).toBe(replicaPort);
    expect(await replica.role()).toEqual(expect.arrayContaining(["slave"]));
    await seed(master);
    const before = [...connectionsOn(server, masterPort), ...connectionsOn(server, replicaPort)];
    expect(before).toHaveLength(2);

    const load = traffic(setup);
    // 5 rotations: past the expiry of the tokens the connections started with.
    await rotations(manager, 5);
    // The last rotation's AUTHs are spread over 200 ms.
    await sleep(400);
    const { commands, failures } = await load.stop();

    expect(failures).toEqual([]);
    expect(commands).toBeGreaterThan(100);
    const stats = server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    // The same two connections, each renewed in place by an AUTH per rotation.
    const after = [...connectionsOn(server, masterPort), ...connectionsOn(server, replicaPort)];
    expect(after.map((each) => each.id)).toEqual(before.map((each) => each.id));
    for (const [i, connection] of after.entries()) {
      expect(connection.authSuccesses).toBeGreaterThanOrEqual(5);
      // Alive past the token it started with: renewed in place, not replaced.
      expect(Date.now()).toBeGreaterThan(before[i]!.expiresAt!);
      expect(connection.expiresAt!).toBeGreaterThan(before[i]!.expiresAt!);
    }
    expect(errors).toEqual([]);
  } finally {
    await setup.stop();
  }
});

test.concurrent("through a sentinel failover both clients follow their role, commands keep succeeding, and the new connections are renewed by AUTH", async () => {
  const setup = await start();
  const { server, manager, master, replica } = setup;
  try {
    const oldMaster = server.port;
    await seed(master);
    const load = traffic(setup);
    await server.failover();
    const promoted = server.port;
    expect(promoted).not.toBe(oldMaster);
    // The promoted node dropped its clients and the demoted one was made to: both clients
    // reconnect through sentinel, to the node that has their role now.
    await waitFor(
      () =>
        master.status === "ready" &&
        replica.status === "ready" &&
        peerPort(master) === promoted &&
        peerPort(replica) === oldMaster,
      "the clients to reconnect to their new nodes",
    );
    // 3 rotations: past the expiry of the tokens the new connections started with.
    await rotations(manager, 3);
    await sleep(400);
    const { commands, failures } = await load.stop();

    expect(failures).toEqual([]);
    expect(commands).toBeGreaterThan(50);
    const stats = server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    // What the failover itself causes: connections closed under the clients (sentinel's and
    // the demotion's kills), and ioredis' notice while sentinel has no usable node for a role.
    const unexpected = setup.errors.filter(
      (error) =>
        !/^(master|slave): (All sentinels are unreachable\. Retrying|read ECONNRESET|write EPIPE)/.test(
          error,
        ),
    );
    expect(unexpected).toEqual([]);
    for (const port of [promoted, oldMaster]) {
      const [connection, ...others] = connectionsOn(server, port);
      expect(others).toEqual([]);
      // The handshake, then an AUTH for each rotation since.
      expect(connection!.authSuccesses).toBeGreaterThanOrEqual(3);
    }
  } finally {
    await setup.stop();
  }
});
