// Benchmarks of @redis-credentials/testing (the built package: `npm run bench` at the root
// builds first): what the identity emulator and the token-enforcing proxy cost, so that tests and
// other benchmarks running on them know how much of their figures is the test bed.
// Prints a table and writes bench/results/testing.json.

import { mkdirSync, writeFileSync } from "node:fs";
import https from "node:https";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startIdentityEmulator, startTokenRedis } from "@redis-credentials/testing";
import Redis from "ioredis";

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const ms = (ns) => ns / 1e6;
const now = () => process.hrtime.bigint();

/** One client-credentials token request over a kept-alive HTTPS connection. */
function requestToken(idp, client, agent) {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: client.clientSecret,
    scope: `${idp.audience}/.default`,
  }).toString();
  const url = new URL(`${idp.authorityHost}/${idp.tenantId}/oauth2/v2.0/token`);
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded" } },
      (response) => {
        response.resume();
        response.on("end", () =>
          response.statusCode === 200
            ? resolve()
            : reject(new Error(`HTTP ${response.statusCode}`)),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

async function timeEach(count, fn) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = now();
    await fn(i);
    times.push(Number(now() - started));
  }
  return times;
}

const results = {};
const idp = await startIdentityEmulator({ tokenLifetimeMs: 3_600_000 });
try {
  // --- identity emulator: token endpoint --------------------------------------------------------
  const client = idp.registerClient();
  const agent = new https.Agent({ keepAlive: true, ca: idp.ca });
  await timeEach(20, () => requestToken(idp, client, agent)); // warm-up
  const tokenTimes = await timeEach(300, () => requestToken(idp, client, agent));
  agent.destroy();
  results.tokenEndpoint = {
    requests: tokenTimes.length,
    p50Ms: ms(percentile(tokenTimes, 50)),
    p99Ms: ms(percentile(tokenTimes, 99)),
    perSecond: 1e9 / (tokenTimes.reduce((a, b) => a + b, 0) / tokenTimes.length),
  };

  for (const tls of [false, true]) {
    const redis = await startTokenRedis({ identity: idp, tls });
    const objectId = "bench-user";
    const token = idp.issueToken({ objectId });
    const client = new Redis({
      host: redis.host,
      port: redis.port,
      username: objectId,
      password: token,
      ...(tls && { tls: { ca: redis.ca } }),
      lazyConnect: true,
    });
    await client.connect();
    try {
      // Sequential round trips: the proxy's added latency per command.
      await timeEach(500, () => client.ping());
      const pingTimes = await timeEach(3_000, () => client.ping());
      // Pipelined throughput: 20 batches of 1,000 GETs.
      const batch = Array.from({ length: 1_000 }, (_, i) => ["get", `k${i}`]);
      const pipelineTimes = await timeEach(20, () => client.pipeline(batch).exec());
      // Re-AUTH on a live connection: what a rotation costs the server side.
      const authTimes = await timeEach(1_000, () => client.auth(objectId, token));
      results[tls ? "proxyTls" : "proxyPlain"] = {
        pingP50Ms: ms(percentile(pingTimes, 50)),
        pingP99Ms: ms(percentile(pingTimes, 99)),
        pipelinedCommandsPerSecond: 1_000 / (ms(percentile(pipelineTimes, 50)) / 1_000),
        reauthP50Ms: ms(percentile(authTimes, 50)),
        reauthPerSecond: 1e9 / (authTimes.reduce((a, b) => a + b, 0) / authTimes.length),
        authSuccesses: redis.stats().authSuccesses,
      };
    } finally {
      client.disconnect();
      await redis.stop();
    }
  }
} finally {
  await idp.stop();
}

const table = [
  [
    "token endpoint (HTTPS, keep-alive)",
    `p50 ${results.tokenEndpoint.p50Ms.toFixed(2)} ms, p99 ${results.tokenEndpoint.p99Ms.toFixed(2)} ms, ${results.tokenEndpoint.perSecond.toFixed(0)} tokens/s`,
  ],
];
for (const [key, label] of [
  ["proxyPlain", "proxy, plain TCP"],
  ["proxyTls", "proxy, TLS"],
]) {
  const r = results[key];
  table.push([
    `${label}: PING round trip`,
    `p50 ${r.pingP50Ms.toFixed(3)} ms, p99 ${r.pingP99Ms.toFixed(3)} ms`,
  ]);
  table.push([`${label}: pipelined GET`, `${r.pipelinedCommandsPerSecond.toFixed(0)} commands/s`]);
  table.push([
    `${label}: re-AUTH (RS256 verify)`,
    `p50 ${r.reauthP50Ms.toFixed(3)} ms, ${r.reauthPerSecond.toFixed(0)} AUTHs/s`,
  ]);
}
const width = Math.max(...table.map(([name]) => name.length));
console.log(`@redis-credentials/testing on Node ${process.version}`);
for (const [name, value] of table) console.log(`  ${name.padEnd(width)}  ${value}`);

const out = join(dirname(fileURLToPath(import.meta.url)), "results", "testing.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2)}\n`,
);
