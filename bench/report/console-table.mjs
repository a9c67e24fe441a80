// The plain-text table of one scenario that the run prints as it goes: medians only (the spread
// and ratios are for docs/benchmarks.md), aligned for a monospace terminal.

import { formatNumber, withUnit } from "./markdown.mjs";

/** @typedef {import("./results-schema.mjs").Scenario} Scenario */

const MISSING = "—";
const KIND_TAGS = { floor: " (floor)", aa: " (A/A)", ours: "", alternative: "" };

/**
 * Formats one scenario as a column-aligned table: a row per system, a column per figure.
 * @param {Scenario} scenario
 * @returns {string} Lines ending with a newline: the title, the header, a rule, the rows.
 */
export function formatTable(given) {
  const scenario = { ...given, rows: given.rows ?? [], columns: given.columns ?? [] };
  const grouped = new Set(scenario.rows.map((row) => row.group)).size > 1;
  const header = ["System", ...(grouped ? ["Group"] : []), ...scenario.columns.map((c) => c.label)];
  const rows = scenario.rows.map((row) => [
    `${row.system}${KIND_TAGS[row.kind] ?? ""}`,
    ...(grouped ? [row.group] : []),
    ...scenario.columns.map((c) => {
      const figure = row.figures?.[c.key];
      return figure ? withUnit(formatNumber(figure.median), figure.unit) : MISSING;
    }),
  ]);
  // Text columns read from the left, figures line up on their last digit.
  const textColumns = grouped ? 2 : 1;
  const widths = header.map((cell, i) =>
    Math.max(width(cell), ...rows.map((row) => width(row[i]))),
  );
  const line = (cells) =>
    cells
      .map((cell, i) => (i < textColumns ? padEnd(cell, widths[i]) : padStart(cell, widths[i])))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const body = rows.length > 0 ? rows.map(line) : ["(no results)"];
  return `${[scenario.title, line(header), rule, ...body].join("\n")}\n`;
}

const width = (text) => [...text].length;
const padEnd = (text, size) => text + " ".repeat(size - width(text));
const padStart = (text, size) => " ".repeat(size - width(text)) + text;
