import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CredentialsError, ManagerDisposedError } from "@redis-credentials/core";
import * as redis from "redis";
import { createClient, createClientPool, createCluster, credentialsProvider } from "../../src";
import { nodeRedisMajor, rotations, sleep, startFixture } from "./helpers";
import {
  collectErrors,
  destroyQuietly,
  listenerCounts,
  misreads,
  ROOMY_ROTATION,
  report,
  runScriptAgainst,
  unexpectedErrors,
  waitFor,
  within,
} from "./pool-helpers";

/*
 * A connection's subscription ends with it: close() and destroy() release every manager
 * subscription, reconnects add none, a process whose clients are closed exits by itself, and a
 * disposed provider or manager stops re-authenticating and refuses new connects.
 */

/** Something node-redis can close or destroy. */
interface Closable {
  readonly isOpen: boolean;
  close(): Promise<unknown>;
  destroy(): unknown;
}

/**
 * Ends each of `targets` in turn (`close()` or `destroy()`), and reports what the manager still
 * counts after each: every one must take its own connections' subscriptions with it at once.
 */
async function endOneByOne(
  targets: { name: string; target: Closable; how: "close" | "destroy"; connections: number }[],
  subscribers: () => number,
): Promise<{ actual: unknown[]; expected: unknown[] }> {
  const actual: unknown[] = [];
  const expected: unknown[] = [];
  let left = subscribers();
  for (const { name, target, how, connections } of targets) {
    if (how === "close") await within(target.close(), 5_000, `${name}.close()`);
    else target.destroy();
    left -= connections;
    actual.push({ ended: `${name}.${how}()`, subscribersLeft: subscribers() });
    expected.push({ ended: `${name}.${how}()`, subscribersLeft: left });
  }
  return { actual, expected };
}

test.concurrent("close() and destroy() of clients, duplicates, subscribers, pools and bare-provider clients release every subscription at once; nothing comes back", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager(ROOMY_ROTATION);
  const socket = { host: fixture.server.host, port: fixture.server.port };
  const options = { socket, allowInsecureTransport: true };
  const closed = createClient(manager, options);
  const destroyed = createClient(manager, options);
  const copy = closed.duplicate();
  const resp2Subscriber = createClient(manager, { ...options, RESP: 2 });
  const resp3Subscriber = createClient(manager, { ...options, RESP: 3 });
  const closedPool = createClientPool(manager, options, { minimum: 3 });
  const destroyedPool = createClientPool(manager, options, { minimum: 2 });
  const provider = credentialsProvider(manager, { allowInsecureTransport: true });
  const bare = redis.createClient({ socket, credentialsProvider: provider });
  const bareCopy = bare.duplicate();
  const all = [
    closed,
    destroyed,
    copy,
    resp2Subscriber,
    resp3Subscriber,
    closedPool,
    destroyedPool,
    bare,
    bareCopy,
  ];
  const errors = all.map((target) => collectErrors(target));
  try {
    await within(Promise.all(all.map((target) => target.connect())), 10_000, "the connects");
    await resp2Subscriber.subscribe("news", () => {});
    await resp3Subscriber.subscribe("news", () => {});
    expect(await copy.ping()).toBe("PONG");
    const subscribers = () => manager.status().counters.subscribers;
    expect(subscribers()).toBe(12);
    expect(fixture.server.stats().connections).toBe(12);
    expect(provider.status()).toMatchObject({ connections: 2, unidentified: 0 });

    const { actual, expected } = await endOneByOne(
      [
        { name: "client", target: closed, how: "close", connections: 1 },
        { name: "client", target: destroyed, how: "destroy", connections: 1 },
        { name: "duplicate", target: copy, how: "close", connections: 1 },
        { name: "RESP2 subscriber", target: resp2Subscriber, how: "destroy", connections: 1 },
        { name: "RESP3 subscriber", target: resp3Subscriber, how: "close", connections: 1 },
        { name: "pool", target: closedPool, how: "close", connections: 3 },
        { name: "pool", target: destroyedPool, how: "destroy", connections: 2 },
        { name: "bare-provider client", target: bare, how: "close", connections: 1 },
        { name: "bare-provider duplicate", target: bareCopy, how: "destroy", connections: 1 },
      ],
      subscribers,
    );
    const afterEnd = {
      subscribers: subscribers(),
      providerConnections: provider.status().connections,
    };
    // What is left once the next rotation has reached every subscription still there.
    await rotations(manager, 1);
    await sleep(400);
    report(`close() and destroy() (node-redis ${nodeRedisMajor})`, {
      afterEnd,
      afterNextRotation: subscribers(),
    });
    expect(actual).toEqual(expected);
    expect(afterEnd).toEqual({ subscribers: 0, providerConnections: 0 });

    // The server saw every connection go, and nothing comes back at the next rotation: no
    // reconnect, no AUTH.
    await waitFor(() => fixture.server.stats().connections === 0, "every connection to go", 2_000);
    const attempts = fixture.server.stats().authAttempts;
    await rotations(manager, 1);
    await sleep(400);
    expect(fixture.server.stats().connections).toBe(0);
    expect(fixture.server.stats().authAttempts).toBe(attempts);
    expect(subscribers()).toBe(0);
    expect(all.map((target) => target.isOpen)).toEqual(all.map(() => false));
    for (const list of errors) expect(list).toEqual([]);
  } finally {
    for (const target of all) destroyQuietly(target);
    await fixture.stop();
  }
});

test.concurrent("close() and destroy() of clusters (the adapter's and a bare provider's) release every node connection's subscription", async () => {
  const fixture = await startFixture({ cluster: { masters: 3 } });
  const manager = fixture.manager(ROOMY_ROTATION);
  const rootNodes = [{ socket: { host: fixture.server.host, port: fixture.server.port } }];
  const closed = createCluster(manager, { rootNodes, allowInsecureTransport: true });
  const destroyed = createCluster(manager, { rootNodes, allowInsecureTransport: true });
  const provider = credentialsProvider(manager, { allowInsecureTransport: true });
  const bare = redis.createCluster({ rootNodes, defaults: { credentialsProvider: provider } });
  const clusters = [closed, destroyed, bare];
  const errors = clusters.map((cluster) => collectErrors(cluster));
  try {
    await within(Promise.all(clusters.map((c) => c.connect())), 10_000, "the clusters");
    // A key on every shard: each cluster has a connection to each master.
    for (const cluster of clusters) {
      await Promise.all(["a", "b", "c", "d", "e", "f"].map((key) => cluster.set(key, "1")));
    }
    const subscribers = () => manager.status().counters.subscribers;
    const perCluster = fixture.server.stats().connections / 3;
    expect(perCluster).toBeGreaterThanOrEqual(3);
    expect(subscribers()).toBe(3 * perCluster);
    expect(provider.status()).toMatchObject({ connections: perCluster, unidentified: 0 });

    const { actual, expected } = await endOneByOne(
      [
        { name: "cluster", target: closed, how: "close", connections: perCluster },
        { name: "cluster", target: destroyed, how: "destroy", connections: perCluster },
        { name: "bare-provider cluster", target: bare, how: "close", connections: perCluster },
      ],
      subscribers,
    );
    const afterEnd = {
      subscribers: subscribers(),
      providerConnections: provider.status().connections,
    };
    report(`cluster close() and destroy() (node-redis ${nodeRedisMajor})`, {
      nodeConnectionsPerCluster: perCluster,
      afterEnd,
    });
    expect(actual).toEqual(expected);
    expect(afterEnd).toEqual({ subscribers: 0, providerConnections: 0 });
    await waitFor(() => fixture.server.stats().connections === 0, "every connection to go", 2_000);
    const attempts = fixture.server.stats().authAttempts;
    await rotations(manager, 1);
    await sleep(400);
    expect(fixture.server.stats().connections).toBe(0);
    expect(fixture.server.stats().authAttempts).toBe(attempts);
    for (const list of errors) expect(list).toEqual([]);
  } finally {
    for (const cluster of clusters) destroyQuietly(cluster);
    await fixture.stop();
  }
});

const CYCLES = 200;

/** Active timers keeping the event loop alive (process-wide). */
const activeTimers = () =>
  process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;

test.concurrent(`${CYCLES} reconnect cycles leave listener counts, subscriptions, connections and timers flat`, async () => {
  const fixture = await startFixture();
  const manager = fixture.manager(ROOMY_ROTATION);
  // Reconnect at once: 200 cycles in a few seconds.
  const socket = { host: fixture.server.host, port: fixture.server.port, reconnectStrategy: 0 };
  const client = createClient(manager, { socket, allowInsecureTransport: true });
  const provider = credentialsProvider(manager, { allowInsecureTransport: true });
  const bare = redis.createClient({ socket, credentialsProvider: provider });
  const bareCopy = bare.duplicate();
  const connections = [client, bare, bareCopy];
  const errors = {
    client: collectErrors(client),
    bare: collectErrors(bare),
    bareCopy: collectErrors(bareCopy),
  };
  try {
    await within(
      Promise.all(connections.map((connection) => connection.connect())),
      10_000,
      "the connects",
    );
    const cycle = async () => {
      const readies = connections.map(
        (connection) => new Promise((resolve) => connection.once("ready", resolve)),
      );
      expect(fixture.server.killConnections()).toBe(3);
      await within(Promise.all(readies), 5_000, "every connection back after a kill");
    };
    // A few cycles first, so that whatever node-redis sets up on the first reconnect is counted.
    for (let i = 0; i < 4; i++) await cycle();
    const listeners = connections.map((connection) => listenerCounts(connection));
    const subscribers = manager.status().counters.subscribers;
    const timers = activeTimers();
    expect(subscribers).toBe(3);
    expect(provider.status()).toMatchObject({ connections: 2, unidentified: 0 });

    for (let i = 0; i < CYCLES; i++) await cycle();

    expect(connections.map((connection) => listenerCounts(connection))).toEqual(listeners);
    expect(manager.status().counters.subscribers).toBe(subscribers);
    expect(provider.status()).toMatchObject({ connections: 2, unidentified: 0, reauthFailures: 0 });
    // Other tests of this file run alongside: a leak of one timer per cycle would be ~200.
    expect(activeTimers()).toBeLessThanOrEqual(timers + 10);
    expect(await client.ping()).toBe("PONG");
    expect(await bare.ping()).toBe("PONG");
    expect(await bareCopy.ping()).toBe("PONG");
    const stats = fixture.server.stats();
    expect(stats.connections).toBe(3);
    // Every handshake was accepted (each cycle reached ready).
    expect(stats.authSuccesses).toBeGreaterThanOrEqual(3 * (CYCLES + 4));
    expect(stats.authRejected).toEqual({});
    expect(unexpectedErrors(errors)).toEqual([]);
    report(`${CYCLES} reconnect cycles (node-redis ${nodeRedisMajor})`, {
      listeners: listeners[0],
      subscribers,
      timersBefore: timers,
      timersAfter: activeTimers(),
      authSuccesses: stats.authSuccesses,
      nodeRedis5Misreads: misreads(errors),
    });
  } finally {
    for (const connection of connections) destroyQuietly(connection);
    await fixture.stop();
  }
});

test.concurrent("provider.dispose() stops re-authentication (the connection then dies at expiry), and a disposed manager fails connects with ManagerDisposedError", async () => {
  const fixture = await startFixture();
  const manager = fixture.manager(ROOMY_ROTATION);
  const socket = { host: fixture.server.host, port: fixture.server.port };
  const provider = credentialsProvider(manager, { allowInsecureTransport: true });
  const bare = redis.createClient({ socket, credentialsProvider: provider });
  const bareErrors = collectErrors(bare);
  const disposedManager = fixture.manager(ROOMY_ROTATION);
  const client = createClient(disposedManager, { socket, allowInsecureTransport: true });
  const pool = createClientPool(disposedManager, { socket, allowInsecureTransport: true });
  const clientErrors = { client: collectErrors(client), pool: collectErrors(pool) };
  try {
    await within(bare.connect(), 10_000, "the bare client's connect");
    expect(provider.status().connections).toBe(1);
    const expiresAt = fixture.server.connections()[0]!.expiresAt!;

    provider.dispose();
    provider.dispose();
    expect(provider.status()).toMatchObject({ connections: 0 });
    expect(manager.status().counters.subscribers).toBe(0);
    // The client keeps the credentials it has: it still works until its token expires...
    expect(await bare.ping()).toBe("PONG");
    const attempts = fixture.server.stats().authAttempts;
    // ...while the manager rotates on, without a single AUTH reaching the server...
    await rotations(manager, 1);
    expect(fixture.server.stats().authAttempts).toBe(attempts);
    // ...and the server closes the connection at expiry. Reconnects fail: no credentials.
    await waitFor(
      () => fixture.server.stats().closedAtExpiry === 1,
      "the server to close the connection at expiry",
      Math.max(0, expiresAt - Date.now()) + 2_000,
    );
    await waitFor(
      () => bareErrors.some((error) => error instanceof CredentialsError),
      "the reconnect to fail",
      3_000,
    );
    expect(fixture.server.stats().authAttempts).toBe(attempts);
    const disposedError = bareErrors.find((error) => error instanceof CredentialsError)!;
    expect(disposedError.message).toMatch(/credentials provider was disposed/);
    bare.destroy();

    // A disposed manager: factories refuse it at once, connects of clients made before fail.
    await disposedManager.dispose();
    for (const [name, make] of Object.entries({
      createClient: () => createClient(disposedManager, { socket, allowInsecureTransport: true }),
      createClientPool: () =>
        createClientPool(disposedManager, { socket, allowInsecureTransport: true }),
      createCluster: () =>
        createCluster(disposedManager, { rootNodes: [{ socket }], allowInsecureTransport: true }),
      credentialsProvider: () => credentialsProvider(disposedManager),
    })) {
      expect([name, catching(make)]).toEqual([name, expect.any(ManagerDisposedError)]);
    }
    const before = fixture.server.stats();
    for (const target of [client, pool]) {
      const error = await within(
        target.connect().then(
          () => undefined,
          (reason: unknown) => reason,
        ),
        5_000,
        "the connect to fail",
      );
      expect(error).toBeInstanceOf(ManagerDisposedError);
      expect(target.isOpen).toBe(false);
    }
    const after = fixture.server.stats();
    expect(after.authAttempts).toBe(before.authAttempts);
    for (const error of [...clientErrors.client, ...clientErrors.pool]) {
      expect(error).toBeInstanceOf(ManagerDisposedError);
    }
    report(`dispose (node-redis ${nodeRedisMajor})`, {
      closedAtExpiry: after.closedAtExpiry,
      bareErrors: [...new Set(bareErrors.map((error) => error.constructor.name))],
    });
  } finally {
    destroyQuietly(bare);
    destroyQuietly(client);
    destroyQuietly(pool);
    await fixture.stop();
  }
});

/** What `make()` throws, or undefined. */
function catching(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The adapter and core, bundled from source, loading the node-redis major this project tests. */
function bundleForChild(dir: string): string {
  const root = path.resolve(__dirname, "../../../..");
  const entry = path.join(dir, "entry.ts");
  writeFileSync(
    entry,
    `export { createClient, createClientPool } from ${JSON.stringify(path.join(root, "packages/node-redis/src/index.ts"))};
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
    external: ["redis"],
    alias: { "@redis-credentials/core": path.join(root, "packages/core/src/index.ts") },
    outfile: bundle,
    logLevel: "error",
  });
  // `require("redis")` from the bundle finds the major under test.
  mkdirSync(path.join(dir, "node_modules"));
  symlinkSync(
    path.join(root, "packages/node-redis/node_modules", nodeRedisMajor === 5 ? "redis5" : "redis"),
    path.join(dir, "node_modules/redis"),
    "dir",
  );
  return bundle;
}

const EXIT_LIMIT_MS = 3_000;

test.concurrent("a process whose node-redis clients, subscriber and pool were closed exits by itself", async () => {
  const fixture = await startFixture();
  const dir = mkdtempSync(path.join(tmpdir(), "redis-credentials-node-redis-exit-"));
  try {
    const bundle = bundleForChild(dir);
    const script = path.join(dir, "exit.cjs");
    writeFileSync(
      script,
      `"use strict";
const { createClient, createClientPool, createTokenManager, credentialsFromJwt } = require(${JSON.stringify(bundle)});
(async () => {
  const manager = createTokenManager({
    name: "process-exit",
    fetch: async () => credentialsFromJwt(process.env.REDIS_TOKEN),
  });
  const options = {
    socket: { host: process.env.REDIS_HOST, port: Number(process.env.REDIS_PORT) },
    allowInsecureTransport: true,
  };
  const errors = [];
  const client = createClient(manager, options);
  client.on("error", (error) => errors.push(error.message));
  await client.connect();
  await client.set("exit", "ok");
  const value = await client.get("exit");
  const subscriber = client.duplicate();
  subscriber.on("error", (error) => errors.push(error.message));
  await subscriber.connect();
  await subscriber.subscribe("news", () => {});
  const pool = createClientPool(manager, options, { minimum: 2 });
  pool.on("error", (error) => errors.push(error.message));
  await pool.connect();
  await pool.ping();
  const connected = manager.status().counters.subscribers;
  // No dispose, no process.exit: nothing the adapter holds may keep the process alive.
  subscriber.destroy();
  await client.close();
  await pool.close();
  process.stdout.write(JSON.stringify({
    value,
    version: require("redis/package.json").version,
    connected,
    subscribers: manager.status().counters.subscribers,
    errors,
    closedAt: Date.now(),
  }));
})().catch((error) => { console.error(error && error.message); process.exitCode = 1; });
`,
    );
    const { code, signal, stdout, stderr, exitedAt } = await runScriptAgainst(fixture, script, dir);

    expect(stderr).toBe("");
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result.value).toBe("ok");
    expect(Number.parseInt(String(result.version), 10)).toBe(nodeRedisMajor);
    expect(result.connected).toBe(4);
    expect(result.errors).toEqual([]);
    const exitMs = exitedAt - (result.closedAt as number);
    report(`process exit (node-redis ${nodeRedisMajor})`, {
      exitMs,
      subscribersLeftAtExit: result.subscribers,
    });
    expect(exitMs).toBeLessThan(EXIT_LIMIT_MS);
    expect(fixture.server.stats().authSuccesses).toBe(4);
    await waitFor(
      () => fixture.server.stats().connections === 0,
      "the server to see them go",
      2_000,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fixture.stop();
  }
});
