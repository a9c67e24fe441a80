// Benchmarks of @redis-credentials/ioredis (the built package: `npm run bench` at the root builds
// first), on the token-enforcing Redis of @redis-credentials/testing over plain TCP:
// - what binding adds to connecting (bound vs bare ioredis, same server),
// - that it adds nothing per command (sequential and pipelined GET, bound vs bare),
// - memory per bound connection,
// - a rotation across 200 connections: how long the fan-out's AUTHs take, and one fetch in total.
// Prints a table and writes bench/results/ioredis.json.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTokenManager, credentialsFromJwt } from "@redis-credentials/core";
import { bindCredentials, createRedis } from "@redis-credentials/ioredis";
import { createTokenIssuer, startTokenRedis } from "@redis-credentials/testing";
import { Redis } from "ioredis";

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6;

const issuer = createTokenIssuer();
const objectId = "bench-user";
const source = {
  name: "bench",
  fetch: async () => credentialsFromJwt(issuer.issueToken({ objectId, lifetimeMs: 3_600_000 })),
};
const server = await startTokenRedis({ identity: issuer, tls: false });
const manager = createTokenManager(source, { reauthSpreadMs: 1_000 });
const target = { host: server.host, port: server.port };
const results = {};

async function bareClient() {
  const { username, password } = await manager.getCredentials();
  const redis = new Redis({ ...target, username, password, lazyConnect: true });
  await redis.connect();
  return redis;
}
const boundClient = () => createRedis(manager, { ...target, allowInsecureTransport: true });

try {
  // --- connect ------------------------------------------------------------------------------------
  for (const [key, make] of [
    ["connectBare", bareClient],
    ["connectBound", boundClient],
  ]) {
    const times = [];
    for (let i = 0; i < 200; i++) {
      const started = now();
      const redis = await make();
      times.push(now() - started);
      redis.disconnect();
    }
    results[key] = { medianMs: median(times) };
  }

  // --- per command ---------------------------------------------------------------------------------
  for (const [key, make] of [
    ["commandsBare", bareClient],
    ["commandsBound", boundClient],
  ]) {
    const redis = await make();
    await redis.set("k", "v");
    const runs = [];
    const pipelined = [];
    for (let round = 0; round < 5; round++) {
      let started = now();
      for (let i = 0; i < 5_000; i++) await redis.get("k");
      runs.push(5_000 / ((now() - started) / 1000));
      started = now();
      await Promise.all(Array.from({ length: 50_000 }, () => redis.get("k")));
      pipelined.push(50_000 / ((now() - started) / 1000));
    }
    results[key] = { sequentialPerSecond: median(runs), pipelinedPerSecond: median(pipelined) };
    redis.disconnect();
  }

  // --- memory per bound connection and a rotation across 200 ---------------------------------------
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const clients = [];
  for (let i = 0; i < 200; i++) {
    const redis = new Redis({ ...target, lazyConnect: true });
    bindCredentials(redis, manager, { allowInsecureTransport: true });
    clients.push(redis);
  }
  global.gc?.();
  const heapPerBinding = (process.memoryUsage().heapUsed - before) / 200;
  await Promise.all(clients.map((redis) => redis.connect()));

  const fetchesBefore = manager.status().counters.fetches;
  const authsBefore = server.stats().authSuccesses;
  const started = now();
  await manager.refresh();
  while (server.stats().authSuccesses - authsBefore < 200) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  results.rotation200 = {
    allReauthenticatedMs: now() - started,
    reauthSpreadMs: 1_000,
    fetches: manager.status().counters.fetches - fetchesBefore,
    heapBytesPerBindingBeforeConnect: Math.round(heapPerBinding),
  };
  await Promise.all(clients.map((redis) => redis.quit()));
} finally {
  await manager.dispose();
  await server.stop();
}

const table = [
  [
    "connect + handshake, median",
    `bare ${results.connectBare.medianMs.toFixed(2)} ms, bound ${results.connectBound.medianMs.toFixed(2)} ms`,
  ],
  [
    "sequential GET",
    `bare ${results.commandsBare.sequentialPerSecond.toFixed(0)}/s, bound ${results.commandsBound.sequentialPerSecond.toFixed(0)}/s`,
  ],
  [
    "pipelined GET (50k in flight)",
    `bare ${results.commandsBare.pipelinedPerSecond.toFixed(0)}/s, bound ${results.commandsBound.pipelinedPerSecond.toFixed(0)}/s`,
  ],
  [
    "rotation, 200 connections",
    `${results.rotation200.fetches} fetch, all re-AUTHed in ${results.rotation200.allReauthenticatedMs.toFixed(0)} ms (spread ${results.rotation200.reauthSpreadMs} ms)`,
  ],
  [
    "heap per binding",
    `${results.rotation200.heapBytesPerBindingBeforeConnect} bytes (run with --expose-gc)`,
  ],
];
const width = Math.max(...table.map(([name]) => name.length));
console.log(`@redis-credentials/ioredis on Node ${process.version}`);
for (const [name, value] of table) console.log(`  ${name.padEnd(width)}  ${value}`);

const out = join(dirname(fileURLToPath(import.meta.url)), "results", "ioredis.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2)}\n`,
);
