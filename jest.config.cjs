// One jest run for the whole repo, split into projects so that the fast unit suite
// can run alone (`--selectProjects unit`) and integration suites (real redis-server,
// later issues) and the end-to-end suite (e2e/) stay apart.
const transform = {
  "^.+\\.(t|j)sx?$": [
    "@swc/jest",
    { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
  ],
};

const shared = {
  transform,
  testEnvironment: "node",
  moduleFileExtensions: ["ts", "js", "json"],
  setupFilesAfterEnv: ["<rootDir>/jest.setup.cjs"],
  // The docs site's build writes and deletes package.json files there while it runs.
  modulePathIgnorePatterns: ["<rootDir>/docs/.vitepress", "<rootDir>/docs/api"],
  // Tests run against the packages' sources, so they need no build and coverage sees the source.
  moduleNameMapper: {
    "^@redis-credentials/core/testing$": "<rootDir>/packages/core/src/testing",
    "^@redis-credentials/ioredis/adapter$": "<rootDir>/packages/ioredis/src/adapter",
    "^@redis-credentials/([a-z-]+)$": "<rootDir>/packages/$1/src",
  },
};

// The secret scan (issue 17, reliability/security): the projects that issue real tokens capture
// what their tests print, emit and throw, and after the run every token issued is searched for
// in it (RC_SECRET_SCAN=0 turns it off). Not the unit project: capturing made the core's
// property tests 7-18x slower.
const captured = {
  ...shared,
  setupFilesAfterEnv: [...shared.setupFilesAfterEnv, "<rootDir>/reliability/security/capture.cjs"],
  globalSetup: "<rootDir>/reliability/security/secret-scan-setup.ts",
  globalTeardown: "<rootDir>/reliability/security/secret-scan-teardown.ts",
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...shared, displayName: "unit", testMatch: ["<rootDir>/packages/*/test/unit/**/*.test.ts"] },
    {
      ...captured,
      displayName: "integration",
      testMatch: ["<rootDir>/packages/*/test/integration/**/*.test.ts"],
    },
    {
      // Tests that use several packages at once (both adapters on one manager, Entra ID through
      // both adapters): no adapter's own tests depend on the other adapter.
      ...captured,
      displayName: "e2e",
      testMatch: ["<rootDir>/e2e/test/**/*.test.ts"],
    },
    {
      // The ioredis adapter relies on ioredis internals: its integration tests run again on the
      // other supported major, which every module (BullMQ included) gets in place of ioredis 6.
      ...captured,
      displayName: "integration-ioredis5",
      testMatch: ["<rootDir>/packages/ioredis/test/integration/**/*.test.ts"],
      moduleNameMapper: {
        ...shared.moduleNameMapper,
        "^ioredis$": "<rootDir>/packages/ioredis/node_modules/ioredis5",
      },
    },
    {
      // The same adapter on iovalkey (the Valkey fork of ioredis 5), which every module gets in
      // place of ioredis, so that src/index.ts hands iovalkey's classes to createAdapter: the
      // internals it relies on and the tests of what can differ from ioredis.
      ...captured,
      displayName: "integration-iovalkey",
      testMatch: ["<rootDir>/packages/ioredis/test/integration/**/*.test.ts"],
      moduleNameMapper: {
        ...shared.moduleNameMapper,
        "^ioredis$": "<rootDir>/packages/ioredis/node_modules/iovalkey",
      },
    },
    {
      // The node-redis adapter on node-redis 5.x (`redis` mapped for every module): the tests of
      // what differs between the majors — the internals it relies on, the shared guarantees,
      // reconnects, pub/sub (5.x defaults to RESP2), sentinel and lifecycle (5.x's close() skips
      // disposing the subscription). The rest use only public API
      // that is the same on both, and run on 6.x, which keeps CI within its time budget.
      ...captured,
      displayName: "integration-node-redis5",
      testMatch: [
        "<rootDir>/packages/node-redis/test/integration/{node-redis-internals,adapter-suite,reconnects,pubsub,sentinel,lifecycle,cluster-rejection}.test.ts",
      ],
      moduleNameMapper: {
        ...shared.moduleNameMapper,
        "^redis$": "<rootDir>/packages/node-redis/node_modules/redis5",
      },
    },
    {
      // The runnable examples (examples/), each against the local identity emulator and a
      // token-enforcing Redis, as a user would run it.
      ...captured,
      displayName: "examples",
      testMatch: ["<rootDir>/examples/*/test/**/*.test.ts"],
    },
    {
      // The fault suite (pnpm test:faults): every adapter, standalone and cluster, under a steady
      // workload while the identity provider, the servers or the clock misbehave.
      ...captured,
      displayName: "faults",
      testMatch: ["<rootDir>/reliability/faults/**/*.test.ts"],
      testTimeout: 120_000,
    },
    {
      // Secret scan, bad input at every public entry point, plaintext refusal, supply chain.
      ...shared,
      displayName: "security",
      testMatch: ["<rootDir>/reliability/security/**/*.test.ts"],
    },
    {
      // The soak (pnpm test:soak): hundreds of connections for SOAK_DURATION_MS (2 minutes by
      // default). It runs alone, after the other projects, so that its load does not disturb them.
      // Not captured for the secret scan: the capture keeps every client and everything printed,
      // which would be the soak's heap growth; the fault suite covers the same code paths.
      ...shared,
      displayName: "soak",
      testMatch: ["<rootDir>/reliability/soak/**/*.test.ts"],
      testTimeout: 3_600_000,
    },
  ],
  // Integration tests start real servers; on a loaded 2-core CI machine that can take seconds.
  testTimeout: 30_000,
  // Integration tests spend most of their time waiting for tokens to rotate, not on the CPU:
  // two workers on a 2-core machine (jest's default would be one) halve the run.
  maxWorkers: 2,
  // The shared test helpers are not product code.
  collectCoverageFrom: ["packages/*/src/**/*.ts", "!packages/test-helpers/**"],
  coverageReporters: ["text-summary", "lcov"],
  coverageThreshold: {
    "./packages/core/src/": { lines: 95 },
  },
};
