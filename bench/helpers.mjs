// What the adapter benchmarks share: a token-enforcing Redis over plain TCP with a manager of
// hour-long tokens, timing helpers, and the report (a table on stdout, JSON in bench/results/).

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTokenManager, credentialsFromJwt } from "@redis-credentials/core";
import { createTokenIssuer, startTokenRedis } from "@redis-credentials/testing";

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const now = () => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server, a manager spreading AUTHs over 1 s, and where clients connect. */
export async function startBench() {
  const issuer = createTokenIssuer();
  const source = {
    name: "bench",
    fetch: async () =>
      credentialsFromJwt(issuer.issueToken({ objectId: "bench-user", lifetimeMs: 3_600_000 })),
  };
  const server = await startTokenRedis({ identity: issuer, tls: false });
  // Forced refreshes (one per rotation measured) at most once a second, as tokens have second-resolution claims.
  const manager = createTokenManager(source, {
    reauthSpreadMs: 1_000,
    minRefreshIntervalMs: 1_000,
  });
  return {
    server,
    manager,
    target: { host: server.host, port: server.port },
    async stop() {
      await manager.dispose();
      await server.stop();
    },
  };
}

/** Median connect + handshake time of `make()` over `count` connections, each closed at once. */
export async function medianConnectMs(make, close, count = 200) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = now();
    const client = await make();
    times.push(now() - started);
    await close(client);
  }
  return median(times);
}

/** Sequential and pipelined throughput of `get()` (median of 5 rounds). */
export async function commandThroughput(get) {
  const sequential = [];
  const pipelined = [];
  for (let round = 0; round < 5; round++) {
    let started = now();
    for (let i = 0; i < 5_000; i++) await get();
    sequential.push(5_000 / ((now() - started) / 1000));
    started = now();
    await Promise.all(Array.from({ length: 50_000 }, () => get()));
    pipelined.push(50_000 / ((now() - started) / 1000));
  }
  return { sequentialPerSecond: median(sequential), pipelinedPerSecond: median(pipelined) };
}

/** Forces one rotation and waits until `count` connections were re-AUTHed. */
export async function timeRotation({ manager, server }, count) {
  const fetchesBefore = manager.status().counters.fetches;
  const authsBefore = server.stats().authSuccesses;
  const started = now();
  await manager.refresh();
  while (server.stats().authSuccesses - authsBefore < count) await sleep(5);
  return {
    allReauthenticatedMs: now() - started,
    reauthSpreadMs: 1_000,
    fetches: manager.status().counters.fetches - fetchesBefore,
  };
}

/** Prints `rows` ([name, value] pairs) under `title` and writes `results` to bench/results/<name>.json. */
export function report(name, title, rows, results) {
  const width = Math.max(...rows.map(([row]) => row.length));
  console.log(`${title} on Node ${process.version}`);
  for (const [row, value] of rows) console.log(`  ${row.padEnd(width)}  ${value}`);
  const out = join(dirname(fileURLToPath(import.meta.url)), "results", `${name}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2)}\n`,
  );
}
