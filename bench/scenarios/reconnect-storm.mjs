// Scenario 4: a reconnect storm. Every connection of the fleet is killed by the server at once
// (as when Azure disables access keys, or a proxy restarts), after the first token has expired:
// a client that reconnects with the password it was created with is refused from then on.

import { startEntraEnvironment } from "../environment.mjs";
import { authenticatedConnections } from "../measure/auth-watch.mjs";
import { connectionsLabel, now, sleep } from "../measure/figures.mjs";
import {
  latencyCharts,
  latencyOverTime,
  startProbe,
  windowStats,
} from "../measure/latency-probe.mjs";
import { measureInRounds } from "../measure/systems-in-rounds.mjs";
import { entraSystems } from "../systems/index.mjs";
import { SCALED_MANAGER_OPTIONS } from "./rotation.mjs";

/** Tokens live this long (a little less in a quick run: ours must still re-AUTH in time). */
const TOKEN_LIFETIME_MS = { full: 6_000, quick: 5_000 };
/** How long a fleet gets to come back before the storm counts as not recovered. */
const RECOVERY_LIMIT_MS = 20_000;

const UNITS = {
  recoveryMs: "ms",
  recovered: "%",
  tokenRequests: "",
  causedByStorm: "",
  failed: "",
  p99: "ms",
};

/**
 * @param {{ quick: boolean, progress: (line: string) => void }} context
 * @returns {Promise<import("../report/results-schema.mjs").Scenario>}
 */
export async function reconnectStorm({ quick, progress }) {
  const connections = quick ? 50 : 1_000;
  const systems = entraSystems.filter(
    (system) => system.kind !== "floor" || ["ioredis", "node-redis"].includes(system.client),
  );
  const tokenLifetimeMs = quick ? TOKEN_LIFETIME_MS.quick : TOKEN_LIFETIME_MS.full;
  const env = await startEntraEnvironment({ tokenLifetimeMs });
  let measured;
  try {
    measured = await measureInRounds({
      systems,
      rounds: 1,
      units: UNITS,
      group: () => connectionsLabel(connections),
      describe: (system) => `${system.name}: ${connections} connections killed at once`,
      progress,
      measureOnce: (system) => stormOnce(env, system, connections),
    });
  } finally {
    await env.stop();
  }
  const { rows, traces } = measured;
  const ours = rows.filter((row) => row.kind === "ours");
  const maxRequests = Math.max(...ours.map((row) => row.figures.causedByStorm?.median ?? 0));
  const maxFailed = Math.max(...ours.map((row) => row.figures.failed?.median ?? 0));
  return {
    id: "reconnect-storm",
    title: "4. Reconnect storm",
    summary: `${connections.toLocaleString("en")} connections per system, tokens living ${tokenLifetimeMs / 1000} s; once the first token has expired (${tokenLifetimeMs / 1000 + 1} s after the fleet opened), the server kills every connection at once. Recovery is the time until the server holds every connection again, authenticated (${RECOVERY_LIMIT_MS / 1000} s at most); token requests and failed commands (of four loops of GET and SET through the fleet) are counted from the kill to recovery plus one second. That window can hold scheduled refreshes of these short tokens too: for ours, "not scheduled" counts the fetches its manager made for any other reason (a forced refresh after a refused AUTH), which is what a storm could cause; the other systems do not say why they fetch. One round per system: the storm is long, and its figures are counts.`,
    columns: [
      { key: "recoveryMs", label: "all back in", unit: "ms", better: "lower" },
      { key: "recovered", label: "back", unit: "%", better: "higher" },
      { key: "tokenRequests", label: "token requests", unit: "", better: "lower" },
      { key: "causedByStorm", label: "of them not scheduled", unit: "", better: "lower" },
      { key: "failed", label: "failed commands", unit: "", better: "lower" },
      { key: "p99", label: "p99 latency", unit: "ms", better: "lower" },
    ],
    rows,
    targets: [
      {
        text: "At most one token request caused by the storm",
        met: maxRequests <= 1,
        measured: ours
          .map(
            (row) =>
              `${row.system} ${row.figures.causedByStorm?.median} (of ${row.figures.tokenRequests?.median} in all)`,
          )
          .join("; "),
        ...(maxRequests <= 1 ? {} : { reason: "see the table" }),
      },
      {
        text: "No failed command",
        met: maxFailed === 0,
        measured: ours.map((row) => `${row.system} ${row.figures.failed?.median}`).join("; "),
        ...(maxFailed === 0
          ? {}
          : {
              reason:
                "Valkey GLIDE fails the commands in flight on a connection the server kills (its core reports the closed channel), where ioredis and node-redis send them again once reconnected; it is not an authentication failure: every connection came back with the token it held",
            }),
      },
    ],
    charts: latencyCharts({
      id: "reconnect-storm-latency",
      what: "a reconnect storm",
      origin: { label: "all connections killed" },
      traces,
    }),
    notes: [
      "The Azure sample's clients reconnect with the token they were created with: once it has expired, the server refuses them, and they do not come back.",
    ],
  };
}

async function stormOnce(env, system, count) {
  const fleet = await system.open(env, count, { managerOptions: SCALED_MANAGER_OPTIONS });
  try {
    const probe = startProbe(fleet);
    await sleep(env.tokenLifetimeMs + 1_000);
    const requestsBefore = fleet.tokenRequests();
    const unscheduledBefore = fleet.unscheduledFetches();
    const killedAt = now();
    env.server.killConnections();
    let recoveredAt;
    while (now() - killedAt < RECOVERY_LIMIT_MS) {
      if (authenticatedConnections(env.server) >= count) {
        recoveredAt = now();
        break;
      }
      await sleep(20);
    }
    await sleep(1_000);
    const { samples } = await probe.stop();
    const requestsAfter = fleet.tokenRequests();
    const unscheduledAfter = fleet.unscheduledFetches();
    const end = (recoveredAt ?? now()) + 1_000;
    const during = windowStats(samples, killedAt, end);
    return {
      figures: {
        recoveryMs: recoveredAt === undefined ? Number.NaN : recoveredAt - killedAt,
        recovered: (100 * Math.min(count, authenticatedConnections(env.server))) / count,
        tokenRequests:
          requestsAfter === undefined ? Number.NaN : requestsAfter - (requestsBefore ?? 0),
        causedByStorm:
          unscheduledAfter === undefined ? Number.NaN : unscheduledAfter - unscheduledBefore,
        failed: during.failed,
        p99: during.p99,
      },
      trace: {
        latency: latencyOverTime(samples, { from: killedAt - 1_000, to: end, origin: killedAt }),
      },
    };
  } finally {
    await fleet.close();
  }
}
