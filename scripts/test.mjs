// The README's test command (`npm test`, after the build): the unit tests with coverage, every
// other jest project, then the soak alone.
//
// TEST_SCOPE=short runs the unit tests and each adapter's own integration tests on its default
// client major, as CI does on its second Node.js: the client-major duplicates, the testing
// package's own integration tests, the end-to-end, fault, security and soak suites run once, on
// the first.
// The soak runs after the rest, in its own jest run, so that its hundreds of connections neither
// disturb the other suites' timing nor are disturbed by them.
import { spawnSync } from "node:child_process";

const scope = process.env.TEST_SCOPE ?? "full";
if (scope !== "full" && scope !== "short") {
  console.error(`test: TEST_SCOPE must be "full" or "short", not ${JSON.stringify(scope)}`);
  process.exit(2);
}

const jest = (args) =>
  spawnSync("npx", ["jest", ...args, ...process.argv.slice(2)], { stdio: "inherit" }).status ?? 1;

const runs =
  scope === "short"
    ? [
        [
          "--selectProjects",
          "unit",
          "integration",
          "--",
          "packages/[^/]+/test/unit/",
          "packages/(ioredis|iovalkey|node-redis|valkey-glide)/test/integration/",
        ],
      ]
    : [
        // Coverage (and the core's threshold) from the unit tests alone: instrumenting the
        // integration suites made them slower and added nothing the threshold reads.
        ["--coverage", "--selectProjects", "unit"],
        [
          "--selectProjects",
          "integration",
          "e2e",
          "integration-ioredis5",
          "integration-iovalkey",
          "integration-node-redis5",
          "examples",
          "faults",
          "security",
        ],
        ["--selectProjects", "soak"],
      ];

let failed = false;
for (const args of runs) if (jest(args) !== 0) failed = true;
process.exit(failed ? 1 : 0);
