// Turning rounds of measurements into the figures the report prints: median, min and max.

export const now = () => performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The value at quantile `q` (0..1) of `values`, interpolated between the nearest two. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/**
 * One figure from the value of each round.
 * @param {number[]} values
 * @param {string} unit
 * @returns {import("../report/results-schema.mjs").Figure | undefined}
 */
export function figure(values, unit) {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return undefined;
  return {
    median: quantile(finite, 0.5),
    min: Math.min(...finite),
    max: Math.max(...finite),
    rounds: finite.length,
    unit,
  };
}

/**
 * Figures for every key of per-round records: `[{ a: 1, b: 2 }, { a: 3, b: 4 }]` → `{ a, b }`.
 * @param {Record<string, number>[]} rounds
 * @param {Record<string, string>} units key → unit
 */
export function figures(rounds, units) {
  return Object.fromEntries(
    Object.entries(units).map(([key, unit]) => [
      key,
      figure(
        rounds.map((round) => round[key]),
        unit,
      ),
    ]),
  );
}

/**
 * The 95 % interval of a median, as a box plot's notch gives it (McGill et al.: ±1.58·IQR/√n):
 * how far apart two medians of `values`-like rounds can be by noise alone.
 */
export function medianNotch(values) {
  const iqr = quantile(values, 0.75) - quantile(values, 0.25);
  return (1.58 * iqr) / Math.sqrt(values.length);
}

/** Runs `steps` in turn, `rounds` times, in an order that rotates each round (ABC, BCA, CAB...). */
export async function alternate(rounds, steps, onRound = () => {}) {
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < steps.length; i++) await steps[(round + i) % steps.length]();
    onRound(round);
  }
}

/** "1 connection", "1,000 connections": a group's label. */
export function connectionsLabel(count) {
  return `${count.toLocaleString("en")} connection${count === 1 ? "" : "s"}`;
}
