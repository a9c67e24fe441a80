import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { clientPackage, rotations, sleep, startFixture } from "./helpers";
import { collectErrors, lazyBoundClient, runScriptAgainst, waitFor } from "./standalone-helpers";

/*
 * The binding ends with the client, holds nothing per reconnect, and never keeps a process alive.
 */

it.concurrent("quit() and disconnect() end the binding: no connection, no subscription left", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager();
  try {
    await manager.getCredentials();
    const baseline = manager.status().counters.subscribers;
    const { redis, binding } = lazyBoundClient(fixture, manager);
    await redis.connect();
    const copy = redis.duplicate();
    const subscriber = redis.duplicate();
    await subscriber.subscribe("news");
    expect(await copy.ping()).toBe("PONG");
    expect(binding.status().connections).toBe(3);
    expect(manager.status().counters.subscribers).toBe(baseline + 3);

    expect(await copy.quit()).toBe("OK");
    subscriber.disconnect();
    await waitFor(
      () => copy.status === "end" && subscriber.status === "end",
      "the copies to end",
      2_000,
    );
    expect(binding.status().connections).toBe(1);
    expect(manager.status().counters.subscribers).toBe(baseline + 1);

    expect(await redis.quit()).toBe("OK");
    await waitFor(() => redis.status === "end", "the client to end", 2_000);
    expect(binding.status().connections).toBe(0);
    expect(manager.status().counters.subscribers).toBe(baseline);

    // Nothing comes back on the next rotation: no reconnect, no AUTH.
    const attempts = fixture.server.stats().authAttempts;
    await rotations(manager, 1);
    await sleep(400);
    expect(fixture.server.stats().connections).toBe(0);
    expect(fixture.server.stats().authAttempts).toBe(attempts);
  } finally {
    await fixture.stop();
  }
});

/** Every event the client has listeners for, with how many. */
function listenerCounts(emitter: NodeJS.EventEmitter): Record<string, number> {
  return Object.fromEntries(
    emitter.eventNames().map((name) => [String(name), emitter.listenerCount(name)]),
  );
}

/** Active timers keeping the event loop alive (process-wide). */
const activeTimers = () =>
  process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;

it.concurrent("1,000 reconnect cycles leave listener counts, subscriptions, connections and timers flat", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager();
  // As fast as possible: reconnect at once rather than after ioredis's default backoff.
  const { redis, binding } = lazyBoundClient(fixture, manager, { retryStrategy: () => 0 });
  const errors = collectErrors(redis);
  try {
    await redis.connect();
    const cycle = async (i: number) => {
      const ready = new Promise((resolve) => redis.once("ready", resolve));
      if (i % 2 === 0) redis.disconnect(true);
      else expect(fixture.server.killConnections()).toBe(1);
      await ready;
    };
    // A few cycles first, so that whatever ioredis sets up on the first reconnect is counted.
    for (let i = 0; i < 4; i++) await cycle(i);
    const listeners = listenerCounts(redis);
    const subscribers = manager.status().counters.subscribers;
    const timers = activeTimers();
    expect(binding.status().connections).toBe(1);

    for (let i = 0; i < 1_000; i++) await cycle(i);

    expect(listenerCounts(redis)).toEqual(listeners);
    expect(manager.status().counters.subscribers).toBe(subscribers);
    expect(binding.status().connections).toBe(1);
    // Other tests of this file run alongside: a leak of one timer per cycle would be ~1,000.
    expect(activeTimers()).toBeLessThanOrEqual(timers + 10);
    expect(await redis.ping()).toBe("PONG");
    const stats = fixture.server.stats();
    expect(stats.connections).toBe(1);
    // Every handshake was accepted (each cycle reached ready). Whether a re-AUTH in flight at a
    // drop is re-sent with an expired token is reconnects.test.ts's concern, not this leak test's.
    expect(stats.authSuccesses).toBeGreaterThanOrEqual(1_004);
    expect(binding.status().reauthFailures).toBe(0);
    for (const error of errors) expect(error.message).toMatch(/ECONNRESET|EPIPE/);
  } finally {
    redis.disconnect();
    await fixture.stop();
  }
}, 60_000);

/** The adapter and core, bundled from source, loading the ioredis major this project tests. */
function bundleForChild(dir: string): string {
  const root = path.resolve(__dirname, "../../../..");
  const entry = path.join(dir, "entry.ts");
  writeFileSync(
    entry,
    `export { createRedis } from ${JSON.stringify(path.join(root, "packages/ioredis/src/index.ts"))};
export { createTokenManager, credentialsFromJwt } from ${JSON.stringify(path.join(root, "packages/core/src/index.ts"))};
`,
  );
  const bundle = path.join(dir, "bundle.cjs");
  // esbuild comes with tsup, a root devDependency; its JS API needs no binary on PATH.
  const esbuild = require(
    require.resolve("esbuild", { paths: [path.dirname(require.resolve("tsup"))] }),
  ) as { buildSync(options: Record<string, unknown>): unknown };
  esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["ioredis"],
    alias: { "@redis-credentials/core": path.join(root, "packages/core/src/index.ts") },
    outfile: bundle,
    logLevel: "error",
  });
  // `require("ioredis")` from the bundle finds the major under test.
  mkdirSync(path.join(dir, "node_modules"));
  symlinkSync(
    path.join(root, "packages/ioredis/node_modules", clientPackage),
    path.join(dir, "node_modules/ioredis"),
    "dir",
  );
  return bundle;
}

const EXIT_LIMIT_MS = 3_000;

/** The version of the client library under test (what `require("ioredis")` loads in the child). */
function clientVersion(): string {
  const root = path.resolve(__dirname, "../../../..");
  const manifest = path.join(root, "packages/ioredis/node_modules", clientPackage, "package.json");
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}

it.concurrent("a process whose clients quit exits by itself", async () => {
  const fixture = await startFixture();
  const dir = mkdtempSync(path.join(tmpdir(), "redis-credentials-ioredis-exit-"));
  try {
    const bundle = bundleForChild(dir);
    const script = path.join(dir, "exit.cjs");
    writeFileSync(
      script,
      `"use strict";
const { createRedis, createTokenManager, credentialsFromJwt } = require(${JSON.stringify(bundle)});
(async () => {
  const manager = createTokenManager({
    name: "process-exit",
    fetch: async () => credentialsFromJwt(process.env.REDIS_TOKEN),
  });
  const redis = await createRedis(manager, {
    host: process.env.REDIS_HOST,
    port: Number(process.env.REDIS_PORT),
    allowInsecureTransport: true,
  });
  await redis.set("exit", "ok");
  const value = await redis.get("exit");
  const subscriber = redis.duplicate();
  await subscriber.subscribe("news");
  const ended = Promise.all([redis, subscriber].map((c) => new Promise((r) => c.once("end", r))));
  await subscriber.quit();
  await redis.quit();
  await ended;
  // No dispose, no process.exit: nothing the adapter holds may keep the process alive.
  process.stdout.write(JSON.stringify({
    value,
    version: require("ioredis/package.json").version,
    subscribers: manager.status().counters.subscribers,
    quitAt: Date.now(),
  }));
})().catch((error) => { console.error(error && error.message); process.exitCode = 1; });
`,
    );
    const { code, signal, stdout, stderr, exitedAt } = await runScriptAgainst(fixture, script, dir);

    expect(stderr).toBe("");
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(report.value).toBe("ok");
    expect(report.version).toBe(clientVersion());
    expect(report.subscribers).toBe(0);
    expect(exitedAt - (report.quitAt as number)).toBeLessThan(EXIT_LIMIT_MS);
    expect(fixture.server.stats().authSuccesses).toBe(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fixture.stop();
  }
}, 30_000);
