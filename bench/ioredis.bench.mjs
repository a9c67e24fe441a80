// Benchmarks of @redis-credentials/ioredis (the built package: `npm run bench` at the root builds
// first), on the token-enforcing Redis of @redis-credentials/testing over plain TCP:
// - what binding adds to connecting (bound vs bare ioredis, same server),
// - that it adds nothing per command (sequential and pipelined GET, bound vs bare),
// - memory per bound connection,
// - a rotation across 200 connections: how long the fan-out's AUTHs take, and one fetch in total.
// Prints a table and writes bench/results/ioredis.json.

import { bindCredentials, createRedis } from "@redis-credentials/ioredis";
import { Redis } from "ioredis";
import {
  commandThroughput,
  medianConnectMs,
  report,
  startBench,
  timeRotation,
} from "./helpers.mjs";

const bench = await startBench();
const { manager, target } = bench;
const results = {};

async function bareClient() {
  const { username, password } = await manager.getCredentials();
  const redis = new Redis({ ...target, username, password, lazyConnect: true });
  await redis.connect();
  return redis;
}
const boundClient = () => createRedis(manager, { ...target, allowInsecureTransport: true });
const disconnect = (redis) => redis.disconnect();

try {
  results.connectBare = { medianMs: await medianConnectMs(bareClient, disconnect) };
  results.connectBound = { medianMs: await medianConnectMs(boundClient, disconnect) };

  for (const [key, make] of [
    ["commandsBare", bareClient],
    ["commandsBound", boundClient],
  ]) {
    const redis = await make();
    await redis.set("k", "v");
    results[key] = await commandThroughput(() => redis.get("k"));
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
  results.rotation200 = {
    ...(await timeRotation(bench, 200)),
    heapBytesPerBindingBeforeConnect: Math.round(heapPerBinding),
  };
  await Promise.all(clients.map((redis) => redis.quit()));
} finally {
  await bench.stop();
}

report(
  "ioredis",
  "@redis-credentials/ioredis",
  [
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
  ],
  results,
);
