// Scenario 6: cold start. How long from nothing to the first successful command: the plain client
// with its password at hand, ours with the token already cached by a running manager, and ours
// from scratch (a new manager fetching its first token from the identity provider).

import { startEntraEnvironment } from "../environment.mjs";
import { alternate, figure, now } from "../measure/figures.mjs";
import { entraSystems } from "../systems/index.mjs";
import { oursManager } from "../systems/ours.mjs";
import { dayLongCredentials } from "../systems/plain.mjs";

const HOUR = 3_600_000;

/**
 * @param {{ quick: boolean, progress: (line: string) => void }} context
 * @returns {Promise<import("../report/results-schema.mjs").Scenario>}
 */
export async function coldStart({ quick, progress }) {
  const rounds = quick ? 2 : 10;
  const env = await startEntraEnvironment({ tokenLifetimeMs: HOUR });
  const rows = [];
  try {
    for (const client of ["ioredis", "node-redis", "valkey-glide", "iovalkey"]) {
      progress(`${client}: ${rounds} rounds`);
      const ours = entraSystems.find((s) => s.client === client && s.kind === "ours");
      const plain = entraSystems.find((s) => s.client === client && s.kind === "floor");
      const { manager: warm } = oursManager(env);
      await warm.getCredentials();
      const plainCredentials = await dayLongCredentials(env);
      const times = { plain: [], cached: [], uncached: [] };
      const timeFirstCommand = async (name, open) => {
        const started = now();
        const fleet = await open();
        await fleet.get(0, "bench:cold");
        times[name].push(now() - started);
        await fleet.close();
      };
      try {
        await alternate(rounds, [
          () => timeFirstCommand("plain", () => plain.open(env, 1, { plainCredentials })),
          () => timeFirstCommand("cached", () => ours.open(env, 1, { manager: warm })),
          () => timeFirstCommand("uncached", () => ours.open(env, 1)),
        ]);
      } finally {
        await warm.dispose();
      }
      const entry = (system, kind, values) => ({
        system,
        kind,
        group: client,
        figures: { firstCommand: figure(values, "ms") },
      });
      rows.push(
        entry(`${ours.name} (token cached)`, "ours", times.cached),
        entry(`${ours.name} (first token fetched)`, "ours", times.uncached),
        entry(plain.name, "floor", times.plain),
      );
    }
  } finally {
    await env.stop();
  }
  return {
    id: "cold-start",
    title: "6. Cold start",
    summary: `Time from creating the client to the first successful GET, ${rounds} rounds each in rotating order: the plain client with a static password at hand; ours bound to a manager that already holds a token (as every client after the first in a process); ours with a new manager that fetches its first token from the identity emulator (a real \`ClientSecretCredential\` over HTTPS on this machine: a network round trip in production adds to it).`,
    columns: [{ key: "firstCommand", label: "to the first command", unit: "ms", better: "lower" }],
    rows,
    targets: [],
    charts: [],
    notes: [],
  };
}
