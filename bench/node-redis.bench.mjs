// Benchmarks of @redis-credentials/node-redis (the built package: `npm run bench` at the root
// builds first), on the token-enforcing Redis of @redis-credentials/testing over plain TCP:
// - what the adapter adds to connecting (createClient vs node-redis with a static password),
// - that it adds nothing per command (sequential and pipelined GET),
// - memory per connected client, adapter vs static password,
// - a rotation across 200 connections: how long the fan-out's AUTHs take, and one fetch in total,
// - AUTHs per rotation on one connection after 20 reconnects: the adapter vs a provider that adds
//   a listener on every subscribe() (what node-redis's own subscribe-per-reconnect leads to).
// Prints a table and writes bench/results/node-redis.json.

import { createClient, credentialsProvider } from "@redis-credentials/node-redis";
import { createClient as createBareClient } from "redis";
import {
  commandThroughput,
  medianConnectMs,
  report,
  sleep,
  startBench,
  timeRotation,
} from "./helpers.mjs";

const bench = await startBench();
const { manager, server, target } = bench;
const results = {};
// node-redis fails commands after 5 s by default; 50k pipelined GETs on a busy machine can take longer.
const commandOptions = { timeout: 60_000 };

async function bareClient() {
  const { username, password } = await manager.getCredentials();
  const client = createBareClient({ socket: target, username, password, commandOptions });
  client.on("error", () => {});
  return client.connect();
}
async function adapterClient() {
  const client = createClient(manager, {
    socket: target,
    commandOptions,
    allowInsecureTransport: true,
  });
  client.on("error", () => {});
  return client.connect();
}
const destroy = (client) => client.destroy();

/** Heap growth per connected client (run with --expose-gc). */
async function heapPerClient(make, count = 200) {
  for (let i = 0; i < 3; i++) {
    await sleep(100);
    global.gc?.();
  }
  const before = process.memoryUsage().heapUsed;
  const clients = await Promise.all(Array.from({ length: count }, make));
  await sleep(100);
  global.gc?.();
  const perClient = (process.memoryUsage().heapUsed - before) / count;
  return { clients, perClient };
}

/** AUTHs one connection receives in one rotation after 20 reconnects. */
async function authsPerRotationAfterReconnects(provider) {
  const client = createBareClient({ socket: target, credentialsProvider: provider });
  client.on("error", () => {});
  await client.connect();
  for (let i = 0; i < 20; i++) {
    const ready = new Promise((resolve) => client.once("ready", resolve));
    server.killConnections();
    await ready;
  }
  // Tokens carry second-resolution claims: a refresh within the same second returns the same one.
  await sleep(1_100);
  const before = server.stats().authAttempts;
  await manager.refresh();
  await sleep(2_000); // the fan-out spreads over 1 s
  const auths = server.stats().authAttempts - before;
  client.destroy();
  return auths;
}

/** A provider that subscribes a listener to the manager on every subscribe(), never replacing one. */
const pilingProvider = {
  type: "streaming-credentials-provider",
  async subscribe(listener) {
    const unsubscribe = manager.subscribe((credentials) => listener.onNext(credentials));
    return [await manager.getCredentials(), { dispose: unsubscribe }];
  },
  onReAuthenticationError() {},
};

try {
  results.connectBare = { medianMs: await medianConnectMs(bareClient, destroy) };
  results.connectAdapter = { medianMs: await medianConnectMs(adapterClient, destroy) };

  for (const [key, make] of [
    ["commandsBare", bareClient],
    ["commandsAdapter", adapterClient],
  ]) {
    const client = await make();
    await client.set("k", "v");
    results[key] = await commandThroughput(() => client.get("k"));
    client.destroy();
  }

  const bare = await heapPerClient(bareClient);
  bare.clients.forEach(destroy);
  await sleep(1_100); // a new second, so that the rotation below hands out a new token
  const adapter = await heapPerClient(adapterClient);
  results.heap = {
    bytesPerBareClient: Math.round(bare.perClient),
    bytesPerAdapterClient: Math.round(adapter.perClient),
  };
  results.rotation200 = await timeRotation(bench, 200);
  adapter.clients.forEach(destroy);

  results.afterReconnects = {
    reconnects: 20,
    authsPerRotationAdapter: await authsPerRotationAfterReconnects(
      credentialsProvider(manager, { allowInsecureTransport: true }),
    ),
    authsPerRotationPilingProvider: await authsPerRotationAfterReconnects(pilingProvider),
  };
} finally {
  await bench.stop();
}

report(
  "node-redis",
  "@redis-credentials/node-redis",
  [
    [
      "connect + handshake, median",
      `static password ${results.connectBare.medianMs.toFixed(2)} ms, adapter ${results.connectAdapter.medianMs.toFixed(2)} ms`,
    ],
    [
      "sequential GET",
      `static ${results.commandsBare.sequentialPerSecond.toFixed(0)}/s, adapter ${results.commandsAdapter.sequentialPerSecond.toFixed(0)}/s`,
    ],
    [
      "pipelined GET (50k in flight)",
      `static ${results.commandsBare.pipelinedPerSecond.toFixed(0)}/s, adapter ${results.commandsAdapter.pipelinedPerSecond.toFixed(0)}/s`,
    ],
    [
      "heap per connected client",
      `static ${results.heap.bytesPerBareClient} bytes, adapter ${results.heap.bytesPerAdapterClient} bytes (run with --expose-gc)`,
    ],
    [
      "rotation, 200 connections",
      `${results.rotation200.fetches} fetch, all re-AUTHed in ${results.rotation200.allReauthenticatedMs.toFixed(0)} ms (spread ${results.rotation200.reauthSpreadMs} ms)`,
    ],
    [
      "AUTHs per rotation after 20 reconnects",
      `adapter ${results.afterReconnects.authsPerRotationAdapter}, listener-per-subscribe provider ${results.afterReconnects.authsPerRotationPilingProvider}`,
    ],
  ],
  results,
);
