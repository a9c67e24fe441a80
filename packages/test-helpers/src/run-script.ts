import { spawn } from "node:child_process";
import { once } from "node:events";
import type { Fixture } from "./fixture";

/**
 * Runs the Node.js `script` in `cwd` as a child process that reaches the fixture's server with a
 * token for its identity (REDIS_HOST, REDIS_PORT, REDIS_TOKEN), and waits for it to exit by
 * itself: it is killed after 15 s, which the caller sees as `signal`.
 */
export async function runScriptAgainst(fixture: Fixture, script: string, cwd: string) {
  // A token that outlives the test: the child has no issuer of its own.
  const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
  return runScript(script, cwd, {
    REDIS_HOST: fixture.server.host,
    REDIS_PORT: String(fixture.server.port),
    REDIS_TOKEN: token,
  });
}

/**
 * Runs the Node.js `script` in `cwd` as a child process with only PATH and `env` in its
 * environment, and waits for it to exit by itself: it is killed after 15 s, which the caller
 * sees as `signal`.
 */
export async function runScript(script: string, cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [script], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [code, signal] = await exited.finally(() => clearTimeout(guard));
  return { code, signal, stdout, stderr, exitedAt: Date.now() };
}
