// Scenario 5: long-lived connections in the AWS mode. ElastiCache and MemoryDB drop a connection
// 12 hours after its last AUTH; here that limit is a few seconds, tokens are signed for a few
// seconds too, and each system runs for several limits under a steady workload.

import { startAwsEnvironment } from "../environment.mjs";
import { authenticatedConnections } from "../measure/auth-watch.mjs";
import { sleep } from "../measure/figures.mjs";
import { startProbe } from "../measure/latency-probe.mjs";
import { measureInRounds } from "../measure/systems-in-rounds.mjs";
import { awsSystems } from "../systems/index.mjs";

const CONNECTION_LIFETIME_MS = 3_000;
/** Tokens valid 2 s (ElastiCache's 15 minutes, scaled as the 12 hours are). */
const TOKEN_SECONDS = 2;
/** How many lifetime limits each system runs for (two in a quick run). */
const LIMITS = { full: 4, quick: 2 };

const UNITS = { dropped: "", failed: "", commands: "", alive: "%" };

/**
 * @param {{ quick: boolean, progress: (line: string) => void }} context
 * @returns {Promise<import("../report/results-schema.mjs").Scenario>}
 */
export async function longLived({ quick, progress }) {
  const connections = quick ? 5 : 50;
  const limits = quick ? LIMITS.quick : LIMITS.full;
  const env = await startAwsEnvironment({ connectionLifetimeMs: CONNECTION_LIFETIME_MS });
  let rows;
  try {
    ({ rows } = await measureInRounds({
      systems: awsSystems,
      rounds: 1,
      units: UNITS,
      group: (system) => system.client,
      describe: (system) =>
        `${system.name}: ${connections} connections for ${limits} lifetime limits`,
      progress,
      measureOnce: async (system) => ({
        figures: await runFor(env, system, connections, limits),
      }),
    }));
  } finally {
    await env.stop();
  }
  const ours = rows.filter((row) => row.kind === "ours");
  const kept = ours.every((row) => row.figures.dropped?.median === 0);
  return {
    id: "long-lived",
    title: "5. Long-lived connections (AWS, the 12-hour limit scaled down)",
    summary: `${connections} connections per system on a Redis in AWS mode that verifies each SigV4 token as ElastiCache does and drops a connection ${CONNECTION_LIFETIME_MS / 1000} s after its last AUTH (ElastiCache's 12 hours, scaled); tokens are valid ${TOKEN_SECONDS} s. Each system runs for ${limits} limits (${(limits * CONNECTION_LIFETIME_MS) / 1000} s) under four loops of GET and SET.`,
    columns: [
      { key: "dropped", label: "dropped at the limit", unit: "", better: "lower" },
      { key: "failed", label: "failed commands", unit: "", better: "lower" },
      { key: "commands", label: "commands", unit: "", better: "none" },
      { key: "alive", label: "connections kept", unit: "%", better: "higher" },
    ],
    rows,
    targets: [
      {
        text: "No connection dropped at the limit, no failed command (ours)",
        met: kept && ours.every((row) => row.figures.failed?.median === 0),
        measured: ours
          .map(
            (row) =>
              `${row.system}: ${row.figures.dropped?.median} dropped, ${row.figures.failed?.median} failed`,
          )
          .join("; "),
      },
    ],
    charts: [],
    notes: [
      "GLIDE's iamConfig refreshes its token on a timer and uses it for new connections, but does not send it on live ones: every connection is dropped at the limit and made again, and commands in flight then may fail.",
    ],
  };
}

async function runFor(env, system, count, limits) {
  const droppedBefore = env.server.stats().closedAtLifetimeLimit;
  const fleet = await system.open(env, count, {
    managerOptions: { reauthSpreadMs: 500, minRefreshIntervalMs: 500 },
    tokenSeconds: TOKEN_SECONDS,
  });
  try {
    const probe = startProbe(fleet);
    await sleep(limits * CONNECTION_LIFETIME_MS);
    const { samples } = await probe.stop();
    const stats = env.server.stats();
    const alive = authenticatedConnections(env.server);
    return {
      dropped: stats.closedAtLifetimeLimit - droppedBefore,
      failed: samples.filter((sample) => !sample.ok).length,
      commands: samples.length,
      alive: (100 * Math.min(alive, count)) / count,
    };
  } finally {
    await fleet.close();
  }
}
