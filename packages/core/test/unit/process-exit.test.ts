import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const packageDir = path.resolve(__dirname, "../..");
const distCjs = path.join(packageDir, "dist/index.cjs");
const distEsm = path.join(packageDir, "dist/index.js");
const EXIT_LIMIT_MS = 10_000;

/** The built package is what users load: build it when it is missing or older than the source. */
function ensureBuilt() {
  const built = [distCjs, distEsm].filter((file) => existsSync(file));
  const oldestBuild = Math.min(...built.map((file) => statSync(file).mtimeMs));
  const srcDir = path.join(packageDir, "src");
  const newestSource = Math.max(
    ...readdirSync(srcDir).map((file) => statSync(path.join(srcDir, file)).mtimeMs),
  );
  if (built.length === 2 && oldestBuild >= newestSource) return;
  execFileSync(process.execPath, [require.resolve("tsup/dist/cli-default.js")], {
    cwd: packageDir,
    stdio: "pipe",
  });
}

let workDir: string;

beforeAll(() => {
  ensureBuilt();
  workDir = mkdtempSync(path.join(tmpdir(), "redis-credentials-exit-"));
}, 120_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** The body both scripts run once `createTokenManager` is loaded. */
const scenario = `
const source = {
  name: "process-exit",
  fetch: async () => ({ username: "user", password: "one-hour-token", expiresAt: Date.now() + 3_600_000 }),
};
const manager = createTokenManager(source);
const credentials = await manager.getCredentials();
manager.subscribe(() => {});
manager.on("refreshed", () => {});
const status = manager.status();
process.stdout.write(JSON.stringify({
  state: status.state,
  password: credentials.password,
  nextRefreshInMs: status.nextRefreshAt - Date.now(),
  subscribers: status.counters.subscribers,
}));
// No dispose: the manager's timers must not keep the process alive.
`;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs `file` with node; resolves on the child's exit, or fails (killing it) after the limit. */
function runToExit(file: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `the process did not exit by itself within ${EXIT_LIMIT_MS} ms (stdout: ${stdout}, stderr: ${stderr})`,
        ),
      );
    }, EXIT_LIMIT_MS);
    child.on("error", (error) => {
      clearTimeout(guard);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

function expectCleanExit(exit: Exit) {
  expect(exit.stderr).toBe("");
  expect(exit.signal).toBeNull();
  expect(exit.code).toBe(0);
  const report = JSON.parse(exit.stdout) as Record<string, unknown>;
  // The script really got credentials and left a refresh armed ~45 minutes out.
  expect(report.state).toBe("ready");
  expect(report.password).toBe("one-hour-token");
  expect(report.subscribers).toBe(1);
  expect(report.nextRefreshInMs).toBeGreaterThan(40 * 60_000);
  expect(exit.elapsedMs).toBeLessThan(EXIT_LIMIT_MS);
}

test(
  "a CommonJS script that never disposes its manager exits by itself",
  async () => {
    const file = path.join(workDir, "exit.cjs");
    writeFileSync(
      file,
      `"use strict";
const { createTokenManager } = require(${JSON.stringify(distCjs)});
(async () => {
${scenario}
})().catch((error) => { console.error(error); process.exitCode = 1; });
`,
    );
    expectCleanExit(await runToExit(file));
  },
  EXIT_LIMIT_MS + 5_000,
);

test(
  "an ES module script that never disposes its manager exits by itself",
  async () => {
    const file = path.join(workDir, "exit.mjs");
    writeFileSync(
      file,
      `import { createTokenManager } from ${JSON.stringify(pathToFileURL(distEsm).href)};
${scenario}
`,
    );
    expectCleanExit(await runToExit(file));
  },
  EXIT_LIMIT_MS + 5_000,
);

test(
  "a script whose only pending work is awaiting getCredentials() waits for it, then exits",
  async () => {
    // The source answers through an unref'd timer, as a source can whose I/O holds nothing
    // open: only the awaiting caller keeps the process alive (without the manager's hold, Node
    // exits with code 13, "unsettled top-level await").
    const file = path.join(workDir, "await.mjs");
    writeFileSync(
      file,
      `import { createTokenManager } from ${JSON.stringify(pathToFileURL(distEsm).href)};
const source = {
  name: "slow",
  fetch: () => new Promise((resolve) => {
    setTimeout(() => resolve({ username: "user", password: "late-token", expiresAt: Date.now() + 3_600_000 }), 500).unref();
  }),
};
const manager = createTokenManager(source);
const credentials = await manager.getCredentials();
process.stdout.write(JSON.stringify({ password: credentials.password }));
`,
    );
    const exit = await runToExit(file);
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    expect(JSON.parse(exit.stdout)).toEqual({ password: "late-token" });
    // Nothing is held once the caller has its credentials: the process ends at once.
    expect(exit.elapsedMs).toBeLessThan(EXIT_LIMIT_MS);
  },
  EXIT_LIMIT_MS + 5_000,
);
