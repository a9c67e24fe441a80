/**
 * Issue 17, case 5 (nodes): a server restart, a node paused longer than the command timeout and a
 * cluster failover in the middle of rotations, each under the steady workload of every adapter
 * (ioredis, iovalkey, node-redis, Valkey GLIDE) on a standalone Redis and a 3-shard cluster with
 * a replica per shard, at once. Tokens live 5 s and rotate every 2 s or so. What a user must see:
 * no acknowledged write lost (read back; the restart's own erasure told apart), every client
 * serving commands again and rotating after, and every AUTH of every reconnect presenting a token
 * that was current (none refused, no connection closed at expiry).
 */
import { keySlot, sleep } from "@redis-credentials/test-helpers";
import type { TokenCluster } from "@redis-credentials/testing";
import { type FaultClients, startClients, TOPOLOGIES } from "./harness";
import { auditedEnvironmentBeforeAll } from "./support/audited-environment";
import { runServerFault } from "./support/server-fault-case";

const environment = auditedEnvironmentBeforeAll();

/** Tokens for 5 s, renewed 2.5 s before expiry: a pause of 1.5 s leaves a second of margin. */
const TOKENS = { lifetimeMs: 5_000, manager: { refreshBeforeExpiryMs: 2_500 } };
/** What an application sets; the pause outlasts it three times. */
const COMMAND_TIMEOUT_MS = 500;
/**
 * Each library's command timeout. node-redis's covers only a command's wait to be written
 * (@redis/client 6.3 commands-queue): one written to a paused node waits for its reply. The
 * cluster client passes its own command options (5 s by default) to its nodes.
 */
const COMMAND_TIMEOUTS = {
  ioredis: { commandTimeout: COMMAND_TIMEOUT_MS },
  iovalkey: { commandTimeout: COMMAND_TIMEOUT_MS },
  "node-redis": { commandOptions: { timeout: COMMAND_TIMEOUT_MS } },
  "valkey-glide": { requestTimeout: COMMAND_TIMEOUT_MS },
};
const PAUSE_MS = 1_500;
/** Shard 0's slots: node 0 serves them until a failover. */
const SHARD_0_LAST_SLOT = 5_460;

let clients: FaultClients | undefined;
afterEach(async () => {
  await clients?.close();
  clients = undefined;
});

const start = (topologies = TOPOLOGIES) =>
  startClients(environment(), { ...TOKENS, clientOptions: COMMAND_TIMEOUTS, topologies });

test("a restart of the standalone server and of a cluster master: no acknowledged write lost but what the crash erased, recovery, current tokens only", async () => {
  const env = environment();
  clients = await start();
  await runServerFault({
    name: "server-restart",
    environment: env,
    clients,
    fault: async () => {
      await Promise.all([env.server("standalone").restartNode(0), env.cluster().restartNode(0)]);
    },
    // The servers keep no data across a crash: the standalone server's keys, and shard 0's.
    restarted: (client, key) =>
      client.topology === "standalone" || keySlot(key) <= SHARD_0_LAST_SLOT,
  });
});

test("a node paused three times longer than the command timeout: timed-out commands only, recovery, current tokens only", async () => {
  const env = environment();
  clients = await start();
  await runServerFault({
    name: "node-paused",
    environment: env,
    clients,
    fault: async () => {
      // Shorter than the cluster's node timeout (2 s): the shard does not fail over.
      env.server("standalone").pauseNode(0);
      env.cluster().pauseNode(0);
      await sleep(PAUSE_MS);
      env.server("standalone").resumeNode(0);
      env.cluster().resumeNode(0);
    },
  });
});

test("a cluster failover while every client rotates its token: no acknowledged write lost, recovery, current tokens only", async () => {
  const env = environment();
  clients = await start(["cluster"]);
  const cluster: TokenCluster = env.cluster();
  const live = clients;
  const rotatedDuringFailover = new Map(live.map((client) => [client.label, 0]));
  let failingOver = false;
  for (const client of live) {
    client.manager.on("refreshed", () => {
      if (failingOver)
        rotatedDuringFailover.set(client.label, rotatedDuringFailover.get(client.label)! + 1);
    });
  }
  await runServerFault({
    name: "cluster-failover",
    environment: env,
    clients: live,
    fault: async () => {
      // Every manager refreshes as often as it allows (minRefreshIntervalMs, 200 ms) for as long
      // as the failover takes: new tokens are fanned out and AUTHed while the replica takes over.
      failingOver = true;
      const rotating = (async () => {
        while (failingOver) {
          await Promise.all(live.map((client) => client.manager.refresh()));
          await sleep(50);
        }
      })();
      try {
        await cluster.failover(0);
      } finally {
        failingOver = false;
        await rotating;
      }
    },
  });
  // Each client took new credentials during the failover itself.
  expect([...rotatedDuringFailover].filter(([, count]) => count === 0)).toEqual([]);
});
