// `pnpm bench`: every scenario, each system under test in this one process on the same servers,
// a table per scenario as it ends, then bench/results/<date>.json, docs/benchmarks.md and the
// charts in docs/benchmarks/. `pnpm bench --quick` runs every scenario small to check that it
// still works (CI runs it): it writes its report to a temporary folder, never over the docs; so
// does `--only=N,...`, which runs those scenarios alone.

import { mkdtempSync } from "node:fs";
import { cpus, freemem, platform, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Logger } from "@valkey/valkey-glide";
import { headlines } from "./headlines.mjs";
import { formatTable } from "./report/console-table.mjs";
import { writeReport } from "./report/write-report.mjs";
import { coldStart } from "./scenarios/cold-start.mjs";
import { hotPath } from "./scenarios/hot-path.mjs";
import { idpLoad } from "./scenarios/idp-load.mjs";
import { longLived } from "./scenarios/long-lived.mjs";
import { reconnectStorm } from "./scenarios/reconnect-storm.mjs";
import { rotation } from "./scenarios/rotation.mjs";

const scenarios = [idpLoad, rotation, hotPath, reconnectStorm, longLived, coldStart];
/** `--only=2,3`: those scenarios alone (by number), for working on one; the docs are not written. */
const only = process.argv
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",")
  .map(Number);
const here = dirname(fileURLToPath(import.meta.url));

async function main() {
  // GLIDE's core logs every dropped connection on stdout; the scenarios count failed commands.
  Logger.setLoggerConfig("off");
  const quick = process.argv.includes("--quick");
  const started = performance.now();
  const results = {
    date: new Date().toISOString(),
    quick,
    command: quick ? "pnpm bench --quick" : "pnpm bench",
    durationMs: 0,
    machine: machine(),
    headlines: [],
    scenarios: [],
  };
  for (const [index, scenario] of scenarios.entries()) {
    if (only !== undefined && !only.includes(index + 1)) continue;
    const label = `[${index + 1}/${scenarios.length}]`;
    const progress = (line) => console.log(`${label} ${elapsed(started)} ${line}`);
    const result = await scenario({ quick, progress });
    results.scenarios.push(result);
    console.log(`\n${formatTable(result)}\n`);
  }
  results.durationMs = Math.round(performance.now() - started);
  results.headlines = headlines(results);
  const published = !quick && only === undefined;
  const written = writeReport(results, {
    docsDir: published ? join(here, "..", "docs") : mkdtempSync(join(tmpdir(), "bench-docs-")),
    resultsDir: published ? join(here, "results") : mkdtempSync(join(tmpdir(), "bench-results-")),
  });
  for (const line of results.headlines)
    console.log(`${line.label}: ${line.value} (${line.detail})`);
  console.log(`\nWrote ${written.length} files in ${elapsed(started)}:`);
  for (const path of written) console.log(`  ${path}`);
  const broken = brokenScenarios(results);
  if (broken.length > 0) {
    // Not a figure judged, but a scenario that measured nothing: the harness itself is broken.
    console.error(`These scenarios measured nothing: ${broken.join(", ")}`);
    process.exitCode = 1;
  }
}

function machine() {
  const [cpu] = cpus();
  return {
    cpuModel: cpu?.model.trim() ?? "unknown",
    cpus: cpus().length,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    freeMemoryMb: Math.round(freemem() / 2 ** 20),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

function elapsed(started) {
  const seconds = Math.round((performance.now() - started) / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** A scenario with a row that has no figure at all. */
function brokenScenarios(results) {
  return results.scenarios
    .filter((scenario) =>
      scenario.rows.some((row) => Object.values(row.figures).every((value) => value === undefined)),
    )
    .map((scenario) => scenario.id);
}

await main();
