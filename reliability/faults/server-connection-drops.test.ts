/**
 * Issue 17, case 5 (connections): random connection kills every second, and every connection
 * dropped at once (as Azure does when access keys are disabled), under the steady workload of
 * every adapter (ioredis, iovalkey, node-redis, Valkey GLIDE) on a standalone Redis and a 3-shard
 * cluster at once, tokens living 5 s and rotating every 2 s or so. What a user must see: no
 * acknowledged write lost (read back), every client serving commands again and rotating after,
 * and every reconnect authenticating with a token that was current (no AUTH refused, no
 * connection closed at expiry).
 */
import { sleep } from "@redis-credentials/test-helpers";
import { type FaultClients, startClients } from "./harness";
import { auditedEnvironmentBeforeAll } from "./support/audited-environment";
import { runServerFault } from "./support/server-fault-case";

// No failover here: a cluster without replicas is lighter on a shared machine.
const environment = auditedEnvironmentBeforeAll({ replicasPerMaster: 0 });

const TOKENS = { lifetimeMs: 5_000, manager: { refreshBeforeExpiryMs: 2_500 } };
/** Kills for longer than two rotations. */
const KILL_SECONDS = 6;

let clients: FaultClients | undefined;
afterEach(async () => {
  await clients?.close();
  clients = undefined;
});

test("connections killed at random every second for 6 s: no acknowledged write lost, recovery, current tokens only", async () => {
  const env = environment();
  clients = await startClients(env, TOKENS);
  let killed = 0;
  await runServerFault({
    name: "random-kills",
    environment: env,
    clients,
    fault: async () => {
      for (let second = 0; second < KILL_SECONDS; second++) {
        for (const server of [env.server("standalone"), env.server("cluster")]) {
          killed += server.killConnections(() => Math.random() < 0.5);
        }
        await sleep(1_000);
      }
    },
  });
  // About half of some 40 connections, six times.
  expect(killed).toBeGreaterThan(KILL_SECONDS * 5);
});

test("every connection dropped at once, twice: no acknowledged write lost, every client back on new connections with current tokens", async () => {
  const env = environment();
  clients = await startClients(env, TOKENS);
  await runServerFault({
    name: "all-dropped",
    environment: env,
    clients,
    everyConnectionDropped: true,
    fault: async () => {
      // Twice, a rotation apart, so that the second drop finds connections made by the first.
      for (let drop = 0; drop < 2; drop++) {
        const dropped =
          env.server("standalone").killConnections() + env.server("cluster").killConnections();
        expect(dropped).toBeGreaterThanOrEqual(8);
        if (drop === 0) await sleep(2_500);
      }
    },
  });
});
