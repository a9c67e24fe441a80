// How the scenarios on real servers run their systems: one at a time, round after round in an
// order that rotates, so that machine noise hits every system alike.

import { alternate, figures } from "./figures.mjs";

/**
 * Measures every system `rounds` times with `measureOnce(system)` (which resolves to that
 * round's figures and, optionally, a trace for the charts), and returns a row per system, its
 * figures over the rounds, and each system's first trace.
 * @param {object} spec
 * @param {import("../systems/system.mjs").System[]} spec.systems
 * @param {number} spec.rounds
 * @param {Record<string, string>} spec.units figure key → unit
 * @param {(system: import("../systems/system.mjs").System) => string} spec.group
 * @param {(system: import("../systems/system.mjs").System) => string} spec.describe the progress line
 * @param {(line: string) => void} spec.progress
 * @param {(system: import("../systems/system.mjs").System) => Promise<{ figures: Record<string, number>, trace?: object }>} spec.measureOnce
 */
export async function measureInRounds({
  systems,
  rounds,
  units,
  group,
  describe,
  progress,
  measureOnce,
}) {
  const measured = new Map(systems.map((system) => [system.name, []]));
  const traces = new Map();
  await alternate(
    rounds,
    systems.map((system) => async () => {
      progress(describe(system));
      const { figures: round, trace } = await measureOnce(system);
      measured.get(system.name).push(round);
      if (trace !== undefined && !traces.has(system.name)) traces.set(system.name, trace);
    }),
  );
  const rows = systems.map((system) => ({
    system: system.name,
    kind: system.kind,
    group: group(system),
    figures: figures(measured.get(system.name), units),
  }));
  return { rows, traces };
}
