// Writes one run's outputs: the raw results (bench/results/<date>.json), a SVG per chart in
// docs/benchmarks/ and docs/benchmarks.md, and removes the SVGs of charts the run no longer has,
// so that docs/benchmarks/ holds exactly what the page links to.

import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderMarkdown } from "./markdown.mjs";
import { renderLineChart } from "./svg-chart.mjs";

/** @typedef {import("./results-schema.mjs").Results} Results */

// Chart ids become file names: nothing that could leave docs/benchmarks/ or need URL escaping.
const CHART_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Writes the results JSON, every chart and docs/benchmarks.md; deletes stale charts.
 * Synchronous, so that the run cannot exit before the docs are written.
 * @param {Results} results
 * @param {{ docsDir: string, resultsDir: string }} dirs
 * @returns {string[]} The paths written: the JSON, the SVGs, then the markdown page.
 */
export function writeReport(results, { docsDir, resultsDir }) {
  const date = runDate(results);
  const charts = (results.scenarios ?? []).flatMap((scenario) => scenario.charts ?? []);
  checkChartIds(charts);

  const chartsDir = join(docsDir, "benchmarks");
  mkdirSync(resultsDir, { recursive: true });
  mkdirSync(chartsDir, { recursive: true });

  const written = [];
  const write = (path, text) => {
    writeFileSync(path, text);
    written.push(path);
  };
  write(join(resultsDir, `${date}.json`), `${JSON.stringify(results, null, 2)}\n`);
  for (const chart of charts) write(join(chartsDir, `${chart.id}.svg`), renderLineChart(chart));
  removeStaleCharts(chartsDir, new Set(charts.map((chart) => `${chart.id}.svg`)));
  write(
    join(docsDir, "benchmarks.md"),
    // Relative to docs/, where the page lives.
    renderMarkdown(results, { chartPath: (chart) => `benchmarks/${chart.id}.svg` }),
  );
  return written;
}

/** The YYYY-MM-DD of results.date, as written in it (no time zone conversion). */
function runDate(results) {
  const date = /^\d{4}-\d{2}-\d{2}/.exec(String(results.date ?? ""))?.[0];
  if (!date)
    throw new Error(`results.date is not an ISO timestamp: ${JSON.stringify(results.date)}`);
  return date;
}

/** Two charts of one id would silently overwrite each other's file. */
function checkChartIds(charts) {
  const seen = new Set();
  for (const { id } of charts) {
    if (!CHART_ID.test(String(id)))
      throw new Error(`Chart id ${JSON.stringify(id)} is not a safe file name`);
    if (seen.has(id)) throw new Error(`Two charts have the id ${JSON.stringify(id)}`);
    seen.add(id);
  }
}

function removeStaleCharts(chartsDir, keep) {
  for (const entry of readdirSync(chartsDir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".svg") && !keep.has(entry.name)) {
      unlinkSync(join(chartsDir, entry.name));
    }
  }
}
