import { createTokenManager, credentialsFromJwt, type TokenManager } from "@redis-credentials/core";
import {
  type ConnectionStats,
  createTokenIssuer,
  startTokenRedis,
  type TokenSentinel,
} from "@redis-credentials/testing";
import { createSentinel } from "../../src";
import { fastRotation, rotations, sleep, TOKEN_LIFETIME_MS } from "./helpers";

/*
 * node-redis's sentinel client (createSentinel) against a sentinel-managed master and replica
 * behind token-enforcing proxies: the master pool and the replica connections stay authenticated
 * by AUTH as 3 s tokens rotate, and through a failover. Each test has its own servers.
 */

const issuer = createTokenIssuer();
const OBJECT_ID = "00000000-0000-4000-8000-0000005e0001";
/**
 * fastRotation with more headroom: 3 s tokens renewed 2 s before they expire, about every second,
 * so that a loaded machine stalling this process for a second still renews them in time.
 */
const rotation = { ...fastRotation, refreshBeforeExpiryMs: 2_000 };
const MASTER_POOL = 2;

/** node-redis's sentinel client for `server`, with credentials from `manager`. */
const sentinelFor = (server: TokenSentinel, manager: TokenManager) =>
  createSentinel(manager, {
    name: server.masterName,
    sentinelRootNodes: server.sentinels,
    masterPoolSize: MASTER_POOL,
    replicaPoolSize: 1,
    allowInsecureTransport: true,
  });

interface Setup {
  server: TokenSentinel;
  manager: TokenManager;
  sentinel: ReturnType<typeof sentinelFor>;
  errors: Error[];
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
  const sentinel = sentinelFor(server, manager);
  const errors: Error[] = [];
  sentinel.on("error", (error: Error) => errors.push(error));
  return {
    server,
    manager,
    sentinel,
    errors,
    async stop() {
      if (sentinel.isOpen) await sentinel.destroy();
      await manager.dispose();
      await server.stop();
    },
  };
}

/** The token holder's live connections through the proxy on `port`. */
const connectionsOn = (server: TokenSentinel, port: number): ConnectionStats[] =>
  server.connections().filter((each) => each.port === port && each.user === OBJECT_ID);

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * Commands in a loop until stopped: INCR on the master and, with `reads`, GET of a replicated key
 * on the replica. Every failure is kept.
 */
function traffic(sentinel: Setup["sentinel"], reads: boolean) {
  let running = true;
  let commands = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const count = await sentinel.incr("sentinel:counter");
        if (typeof count !== "number") failures.push(`INCR answered ${count}`);
        if (reads) {
          const value = await sentinel.get("sentinel:fixed");
          if (value !== "replicated") failures.push(`GET on the replica answered ${value}`);
        }
        commands += 1;
      } catch (error) {
        failures.push(String(error));
      }
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

/** Writes the key the replica reads, and waits until the replica has it. */
async function seed(sentinel: Setup["sentinel"]) {
  await sentinel.use(async (client) => {
    await client.set("sentinel:fixed", "replicated");
    expect(await client.wait(1, 2_000)).toBe(1);
  });
}

test.concurrent("the master pool and the replica connection stay authenticated across 5 rotations, renewed by AUTH past their first token", async () => {
  const setup = await start();
  const { server, manager, sentinel, errors } = setup;
  try {
    const masterPort = server.port;
    const replicaPort = server.nodes[1]!.port;
    await sentinel.connect();
    expect(sentinel.getMasterNode()).toEqual({ host: "127.0.0.1", port: masterPort });
    expect([...sentinel.getReplicaNodes()]).toEqual([
      [{ host: "127.0.0.1", port: replicaPort }, 1],
    ]);
    await seed(sentinel);
    const master = connectionsOn(server, masterPort);
    const replica = connectionsOn(server, replicaPort);
    expect(master).toHaveLength(MASTER_POOL);
    expect(replica).toHaveLength(1);

    const load = traffic(sentinel, true);
    // 5 rotations: past the expiry of the tokens the connections started with.
    await rotations(manager, 5);
    // The last rotation's AUTHs are spread over 200 ms.
    await sleep(400);
    const { commands, failures } = await load.stop();

    expect(failures).toEqual([]);
    expect(commands).toBeGreaterThan(50);
    const stats = server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    // The same connections, each renewed in place by an AUTH per rotation.
    for (const [port, before] of [
      [masterPort, master],
      [replicaPort, replica],
    ] as const) {
      const after = connectionsOn(server, port);
      expect(after.map((each) => each.id).sort()).toEqual(before.map((each) => each.id).sort());
      for (const connection of after) {
        expect(connection.authSuccesses).toBeGreaterThanOrEqual(5);
        const initial = before.find((each) => each.id === connection.id)!;
        // Alive past the token it started with: renewed in place, not replaced.
        expect(Date.now()).toBeGreaterThan(initial.expiresAt!);
        expect(connection.expiresAt!).toBeGreaterThan(initial.expiresAt!);
      }
    }
    expect(errors).toEqual([]);
  } finally {
    await setup.stop();
  }
});

test.concurrent("a sentinel failover: writes keep succeeding, and the promoted master's connections are renewed by AUTH", async () => {
  const setup = await start();
  const { server, manager, sentinel, errors } = setup;
  try {
    const oldMaster = server.port;
    await sentinel.connect();
    await seed(sentinel);

    // node-redis retries master commands across the switch (READONLY, closed connections).
    const writes = traffic(sentinel, false);
    await server.failover();
    const promoted = server.port;
    expect(promoted).not.toBe(oldMaster);
    await waitFor(
      () =>
        sentinel.getMasterNode()?.port === promoted &&
        [...sentinel.getReplicaNodes()].some(([node, ready]) => node.port === oldMaster && ready),
      "node-redis to follow the failover",
    );
    const during = await writes.stop();
    expect(during.failures).toEqual([]);
    expect(during.commands).toBeGreaterThan(0);

    // The old master is the replica now, and serves reads of what the new master wrote.
    await seed(sentinel);
    const master = connectionsOn(server, promoted);
    expect(master).toHaveLength(MASTER_POOL);
    const load = traffic(sentinel, true);
    // 3 rotations: past the expiry of the tokens the new connections started with.
    await rotations(manager, 3);
    await sleep(400);
    const after = await load.stop();

    expect(after.failures).toEqual([]);
    const stats = server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    const renewed = connectionsOn(server, promoted);
    expect(renewed.map((each) => each.id).sort()).toEqual(master.map((each) => each.id).sort());
    for (const connection of renewed) {
      const initial = master.find((each) => each.id === connection.id)!;
      expect(connection.authSuccesses).toBeGreaterThanOrEqual(initial.authSuccesses + 2);
    }
    // node-redis may open a second replica client while it rediscovers (it counts one still
    // connecting as missing): however many, each is authenticated and renewed.
    const replicas = connectionsOn(server, oldMaster);
    expect(replicas.length).toBeGreaterThanOrEqual(1);
    for (const connection of replicas) expect(connection.authSuccesses).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
  } finally {
    await setup.stop();
  }
});
