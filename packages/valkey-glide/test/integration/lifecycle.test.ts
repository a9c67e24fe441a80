import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runScript } from "@redis-credentials/test-helpers";
import { createTokenIssuer, startTokenRedis, type TokenRedis } from "@redis-credentials/testing";

/* A process whose GLIDE clients close exits by itself: nothing the adapter holds keeps it alive. */

const issuer = createTokenIssuer();
const objectId = "00000000-0000-4000-8000-300000000001";
let server: TokenRedis;
beforeAll(async () => {
  server = await startTokenRedis({ identity: issuer });
}, 60_000);
afterAll(() => server?.stop());

const EXIT_LIMIT_MS = 3_000;

test("a process whose standalone client and subscriber were closed exits by itself", async () => {
  const root = path.resolve(__dirname, "../../../..");
  const dir = mkdtempSync(path.join(tmpdir(), "redis-credentials-glide-exit-"));
  try {
    const entry = path.join(dir, "entry.ts");
    writeFileSync(
      entry,
      `export { createGlideClient } from ${JSON.stringify(path.join(root, "packages/valkey-glide/src/index.ts"))};
export { createTokenManager, credentialsFromJwt } from ${JSON.stringify(path.join(root, "packages/core/src/index.ts"))};
`,
    );
    const bundle = path.join(dir, "bundle.cjs");
    const esbuild = require(
      require.resolve("esbuild", { paths: [path.dirname(require.resolve("tsup"))] }),
    ) as { buildSync(options: Record<string, unknown>): unknown };
    esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      external: ["@valkey/valkey-glide"],
      outfile: bundle,
      logLevel: "error",
    });
    mkdirSync(path.join(dir, "node_modules/@valkey"), { recursive: true });
    symlinkSync(
      path.join(root, "packages/valkey-glide/node_modules/@valkey/valkey-glide"),
      path.join(dir, "node_modules/@valkey/valkey-glide"),
      "dir",
    );
    const script = path.join(dir, "exit.cjs");
    writeFileSync(
      script,
      `"use strict";
const { createGlideClient, createTokenManager, credentialsFromJwt } = require("./bundle.cjs");
(async () => {
  const manager = createTokenManager({ name: "process-exit", fetch: async () => credentialsFromJwt(process.env.REDIS_TOKEN) });
  const config = {
    addresses: [{ host: process.env.REDIS_HOST, port: Number(process.env.REDIS_PORT) }],
    useTLS: true,
    advancedConfiguration: { tlsAdvancedConfiguration: { rootCertificates: process.env.REDIS_CA } },
    requestTimeout: 2000,
  };
  const client = await createGlideClient(manager, config);
  const subscriber = await createGlideClient(manager, { ...config, pubsubSubscriptions: { channelsAndPatterns: { 0: new Set(["news"]) }, callback: () => {} } });
  await client.set("exit", "ok");
  const value = await client.get("exit");
  const connected = manager.status().counters.subscribers;
  // No dispose, no process.exit.
  client.close();
  subscriber.close();
  process.stdout.write(JSON.stringify({ value, connected, subscribers: manager.status().counters.subscribers, closedAt: Date.now() }));
})().catch((error) => { console.error(error && error.message); process.exitCode = 1; });
`,
    );
    const { code, signal, stdout, stderr, exitedAt } = await runScript(script, dir, {
      REDIS_HOST: server.host,
      REDIS_PORT: String(server.port),
      REDIS_CA: server.ca as string,
      REDIS_TOKEN: issuer.issueToken({ objectId, lifetimeMs: 60_000 }),
    });
    expect({ code, signal, stderr: stderr.replace(/.*logger_core.*\n?/g, "") }).toEqual({
      code: 0,
      signal: null,
      stderr: "",
    });
    const result = JSON.parse(stdout) as {
      value: string;
      connected: number;
      subscribers: number;
      closedAt: number;
    };
    expect(result).toMatchObject({ value: "ok", connected: 2, subscribers: 0 });
    expect(exitedAt - result.closedAt).toBeLessThan(EXIT_LIMIT_MS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
