// Rebuilds docs/benchmarks.md and its charts from saved results, without re-running the
// benchmarks: after a change to the report's layout, or to check a results file from another
// machine.
//
//   node bench/report.mjs [results.json] [--docs <dir>] [--results <dir>]
//
// Without a file, the newest bench/results/<YYYY-MM-DD>.json is used.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeReport } from "./report/write-report.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const DATED_RESULTS = /^\d{4}-\d{2}-\d{2}\.json$/;
/** A mistake in how the script was called or which file it was given: no stack trace needed. */
class UserError extends Error {}

const USAGE = "Usage: node bench/report.mjs [results.json] [--docs <dir>] [--results <dir>]";

/** The newest dated results file: ISO dates sort by name. */
function newestResults(resultsDir) {
  let names = [];
  try {
    names = readdirSync(resultsDir).filter((name) => DATED_RESULTS.test(name));
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  const newest = names.sort().at(-1);
  if (!newest)
    throw new UserError(
      `No results file named <YYYY-MM-DD>.json in ${resultsDir}: run pnpm bench first.`,
    );
  return join(resultsDir, newest);
}

/** Catches a file that is not a results object before it half-writes the docs. */
function readResults(path) {
  let results;
  try {
    results = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UserError(`Cannot read ${path}: ${error.message}`);
  }
  if (typeof results?.date !== "string" || !Array.isArray(results.scenarios)) {
    throw new UserError(`${path} is not a pnpm bench results file (no date or scenarios).`);
  }
  return results;
}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        docs: { type: "string", default: join(BENCH_DIR, "..", "docs") },
        results: { type: "string", default: join(BENCH_DIR, "results") },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UserError(`${error.message}\n${USAGE}`);
  }
}

function main() {
  const { values, positionals } = parseCommandLine();
  if (values.help || positionals.length > 1) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const resultsDir = resolve(values.results);
  const source = positionals[0] ? resolve(positionals[0]) : newestResults(resultsDir);
  const written = writeReport(readResults(source), { docsDir: resolve(values.docs), resultsDir });
  console.log(`From ${source}, wrote:`);
  for (const path of written) console.log(`  ${path}`);
}

try {
  main();
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
