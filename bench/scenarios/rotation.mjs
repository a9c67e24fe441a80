// Scenario 2: one rotation of 1,000 connections on the token Redis. Each system rotates on its
// own schedule (tokens live a few seconds); the server's view of every connection's AUTHs and a
// steady workload through the fleet tell how the rotation went.

import { startEntraEnvironment } from "../environment.mjs";
import { authRate, peakAuthsPerSecond, watchAuths } from "../measure/auth-watch.mjs";
import { connectionsLabel, now, sleep } from "../measure/figures.mjs";
import {
  latencyCharts,
  latencyOverTime,
  startProbe,
  windowStats,
} from "../measure/latency-probe.mjs";
import { measureInRounds } from "../measure/systems-in-rounds.mjs";
import { entraSystems } from "../systems/index.mjs";

/** Tokens live this long (half as long in a quick run). */
const TOKEN_LIFETIME_MS = { full: 12_000, quick: 6_000 };
/** Ours spreads its re-AUTHs over this (the default is 5 s for hour-long tokens). */
const SPREAD_MS = 2_000;
/** Ours on the same scaled schedule: refresh at half the token's life, up to 1.2 s earlier. */
export const SCALED_MANAGER_OPTIONS = { reauthSpreadMs: SPREAD_MS, minRefreshIntervalMs: 1_000 };

const UNITS = {
  rotationMs: "ms",
  authsPerConnection: "",
  peakAuthsPerSecond: "/s",
  peakOverEven: "×",
  steadyP50: "ms",
  steadyP99: "ms",
  rotationP50: "ms",
  rotationP99: "ms",
  rotationMax: "ms",
  failed: "",
  tokenRequests: "",
  closedAtExpiry: "",
};

/**
 * @param {{ quick: boolean, progress: (line: string) => void }} context
 * @returns {Promise<import("../report/results-schema.mjs").Scenario>}
 */
export async function rotation({ quick, progress }) {
  const connections = quick ? 50 : 1_000;
  const rounds = quick ? 1 : 2;
  const systems = entraSystems.filter((system) => system.kind !== "floor");
  const tokenLifetimeMs = quick ? TOKEN_LIFETIME_MS.quick : TOKEN_LIFETIME_MS.full;
  const env = await startEntraEnvironment({ tokenLifetimeMs });
  let measured;
  try {
    measured = await measureInRounds({
      systems,
      rounds,
      units: UNITS,
      group: () => connectionsLabel(connections),
      describe: (system) => `${system.name}: ${connections} connections, waiting for a rotation`,
      progress,
      measureOnce: (system) => rotateOnce(env, system, connections),
    });
  } finally {
    await env.stop();
  }
  const { rows, traces } = measured;
  return {
    id: "rotation",
    title: "2. A rotation on real servers",
    summary: `${connections.toLocaleString("en")} connections per system on the token-enforcing Redis, tokens living ${tokenLifetimeMs / 1000} s, each system on its own schedule; the server counts every connection's AUTHs (polled every 20 ms), and four loops send GET and SET through the fleet throughout. Ours spreads its re-AUTHs over ${SPREAD_MS / 1000} s (\`reauthSpreadMs\`), so an even spread is ${Math.round(connections / (SPREAD_MS / 1000))} AUTHs per second; the peak is the most AUTHs in any 100 ms (as a rate per second), and "peak against even" divides it by that. Steady latency is measured before the first re-AUTH, rotation latency from the first re-AUTH to the last one plus 200 ms.`,
    columns: [
      { key: "rotationMs", label: "first to last re-AUTH", unit: "ms", better: "none" },
      { key: "authsPerConnection", label: "AUTHs per connection", unit: "", better: "lower" },
      { key: "peakAuthsPerSecond", label: "peak AUTHs", unit: "/s", better: "lower" },
      { key: "peakOverEven", label: "peak against even", unit: "×", better: "lower" },
      { key: "steadyP99", label: "p99 steady", unit: "ms", better: "lower" },
      { key: "rotationP50", label: "p50 in rotation", unit: "ms", better: "lower" },
      { key: "rotationP99", label: "p99 in rotation", unit: "ms", better: "lower" },
      { key: "rotationMax", label: "max in rotation", unit: "ms", better: "lower" },
      { key: "failed", label: "failed commands", unit: "", better: "lower" },
      { key: "tokenRequests", label: "token requests", unit: "", better: "lower" },
      { key: "closedAtExpiry", label: "closed at expiry", unit: "", better: "lower" },
    ],
    rows,
    targets: rotationTargets(rows),
    charts: [
      {
        id: "rotation-auths-per-second",
        title: `AUTHs per second at a rotation of ${connections.toLocaleString("en")} connections`,
        x: { label: "time from the first re-AUTH", unit: "s" },
        y: { label: "AUTHs per second, in 100 ms buckets", unit: "/s" },
        series: [...traces].map(([name, trace]) => ({ name, points: trace.authRate })),
        markers: [{ x: 0, label: "first re-AUTH" }],
      },
      ...latencyCharts({
        id: "rotation-latency",
        what: "a rotation",
        origin: { label: "first re-AUTH" },
        traces,
      }),
    ],
    notes: [
      "Each system rotates when its own schedule says: ours at half of these short tokens' life, @redis/entraid at 80 %, the Azure sample 2–5 minutes' worth (scaled) before expiry, each client on its own timer with a token of its own.",
    ],
  };
}

/** Opens the fleet, waits for every connection to re-AUTH once (or for the token to expire), measures. */
async function rotateOnce(env, system, count) {
  const fleet = await system.open(env, count, { managerOptions: SCALED_MANAGER_OPTIONS });
  try {
    const closedBefore = env.server.stats().closedAtExpiry;
    const requestsBefore = fleet.tokenRequests();
    const probe = startProbe(fleet);
    const watch = watchAuths(env.server);
    const started = now();
    while (watch.reauthenticated() < count && now() - started < env.tokenLifetimeMs + 5_000) {
      await sleep(50);
    }
    await sleep(500);
    const { events } = watch.stop();
    const { samples } = await probe.stop();
    const first = events[0]?.at ?? now();
    const reauthed = new Map();
    for (const event of events) if (!reauthed.has(event.id)) reauthed.set(event.id, event.at);
    const last = Math.max(first, ...reauthed.values());
    const steady = windowStats(samples, started + 500, first - 200);
    const during = windowStats(samples, first, last + 200);
    const peak = peakAuthsPerSecond(events);
    const requestsAfter = fleet.tokenRequests();
    return {
      figures: {
        rotationMs: reauthed.size >= count ? last - first : Number.NaN,
        authsPerConnection: events.length / count,
        peakAuthsPerSecond: peak,
        peakOverEven: peak / (count / (SPREAD_MS / 1000)),
        steadyP50: steady.p50,
        steadyP99: steady.p99,
        rotationP50: during.p50,
        rotationP99: during.p99,
        rotationMax: during.max,
        failed: samples.filter((sample) => !sample.ok).length,
        tokenRequests:
          requestsAfter === undefined ? Number.NaN : requestsAfter - (requestsBefore ?? 0),
        closedAtExpiry: env.server.stats().closedAtExpiry - closedBefore,
      },
      trace: {
        authRate: authRate(events, { from: first - 1_000, to: last + 1_500, origin: first }),
        latency: latencyOverTime(samples, { from: first - 2_000, to: last + 1_500, origin: first }),
      },
    };
  } finally {
    await fleet.close();
  }
}

function rotationTargets(rows) {
  const ours = rows.filter((row) => row.kind === "ours");
  const worst = (key, pick = Math.max) =>
    pick(...ours.map((row) => row.figures[key]?.median ?? Number.NaN));
  const authsPerConnection = worst("authsPerConnection");
  const peakOverEven = worst("peakOverEven");
  const failed = worst("failed");
  const list = (key, unit = "") =>
    ours.map((row) => `${row.system} ${format(row.figures[key]?.median)}${unit}`).join("; ");
  return [
    {
      text: "AUTHs per connection exactly 1.00",
      met: ours.every((row) => row.figures.authsPerConnection?.median === 1),
      measured: list("authsPerConnection"),
      ...(authsPerConnection === 1 ? {} : { reason: "see the table" }),
    },
    {
      text: "Peak AUTHs per second at most 1.5× an even spread",
      met: peakOverEven <= 1.5,
      measured: list("peakOverEven", "×"),
      ...(peakOverEven <= 1.5 ? {} : { reason: "see the table" }),
    },
    {
      text: "No failed command",
      met: failed === 0,
      measured: list("failed"),
      ...(failed === 0 ? {} : { reason: "see the table" }),
    },
  ];
}

const format = (value) => (Number.isFinite(value) ? Number(value.toFixed(2)) : "—");
