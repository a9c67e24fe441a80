import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IamUnavailableError, type TokenManager } from "@redis-credentials/core";
import { gcpIam } from "@redis-credentials/gcp-iam";
import { createRedis, bindingOf as ioredisBindingOf } from "@redis-credentials/ioredis";
import { createClient, bindingOf as nodeRedisBindingOf } from "@redis-credentials/node-redis";
import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { bothAdaptersAcrossRotations, recordingManager } from "./workload";

// The whole path of Memorystore IAM authentication, on this machine: gcpIam() with its default
// GoogleAuth (Application Default Credentials, google-auth-library unchanged) finds the identity
// emulator's metadata server through GCE_METADATA_HOST, as it finds the real one on GCE, GKE and
// Cloud Run; ioredis and node-redis clients share one manager against a Redis in GCP mode, which
// checks each access token at AUTH only and limits new connections per second as IAM does.
const TOKEN_LIFETIME_MS = 3_000;
const ROTATIONS = 5;
const SURGE = 100;
const PER_SECOND = 20;

let idp: IdentityEmulator;
let standalone: TokenRedis;
let cluster: TokenRedis;
let limited: TokenRedis;
let home: string;
const saved = {
  GCE_METADATA_HOST: process.env.GCE_METADATA_HOST,
  HOME: process.env.HOME,
  GOOGLE_APPLICATION_CREDENTIALS: process.env.GOOGLE_APPLICATION_CREDENTIALS,
  GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT,
};

// gaxios (google-auth-library's HTTP client) loads node-fetch with `await import()`, which Jest's
// CommonJS runtime refuses; where a `window` exists it takes `window.fetch`: Node's own.
const globals = globalThis as { window?: { fetch: typeof fetch } };
globals.window ??= { fetch: (input, init) => globalThis.fetch(input, init) };
const managers: TokenManager[] = [];
/** Closes what a test opened, passed or failed. */
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  // Application Default Credentials: no key file, no gcloud login, so the metadata server.
  home = mkdtempSync(join(tmpdir(), "gcp-e2e-home-"));
  process.env.HOME = home;
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  process.env.GCE_METADATA_HOST = idp.gceMetadataHost;
  // A project id at hand, or google-auth-library asks a gcloud installed on the machine for one.
  process.env.GOOGLE_CLOUD_PROJECT = idp.googleProjectId;
  [standalone, cluster, limited] = await Promise.all([
    startTokenRedis({ identity: idp, gcp: {} }),
    startTokenRedis({ identity: idp, gcp: {}, cluster: { masters: 3 } }),
    startTokenRedis({ identity: idp, gcp: { newConnectionsPerSecond: PER_SECOND } }),
  ]);
});

afterAll(async () => {
  await Promise.all(managers.map((manager) => manager.dispose()));
  await Promise.all([standalone?.stop(), cluster?.stop(), limited?.stop(), idp?.stop()]);
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(home, { recursive: true, force: true });
});

/** A fast-rotating manager over gcpIam() with its defaults, recording why each fetch happened. */
function gcpManager(): ReturnType<typeof recordingManager> {
  const source = gcpIam();
  const manager = recordingManager(source);
  managers.push(manager);
  return manager;
}

test("standalone over TLS: ioredis and node-redis on one gcpIam manager, re-authenticated at every rotation", async () => {
  const stats = await bothAdaptersAcrossRotations(
    gcpManager(),
    standalone,
    ROTATIONS,
    "standalone",
  );
  expect(stats.connectionsByUser).toEqual({ [idp.googleServiceAccount]: 2 });
  // Tokens came from the metadata server, through google-auth-library.
  expect(idp.stats().tokensIssuedByClient[idp.googleServiceAccount]).toBeGreaterThanOrEqual(
    ROTATIONS,
  );
});

test("cluster over TLS: every node connection of ioredis and node-redis cluster clients is kept", async () => {
  await bothAdaptersAcrossRotations(gcpManager(), cluster, ROTATIONS, "cluster");
});

test(`a surge of ${SURGE} new connections against ${PER_SECOND} per second: all connect, paced by jittered retries, no forced refresh`, async () => {
  const manager = gcpManager();
  await manager.getCredentials();
  const ca = limited.ca as string;
  const iamErrors: IamUnavailableError[] = [];
  const otherErrors: unknown[] = [];
  const onError = (error: unknown) => {
    if (error instanceof IamUnavailableError) iamErrors.push(error);
    else if (!/ERR_IAM_EXHAUSTED/.test(String(error))) otherErrors.push(error);
  };
  const started = Date.now();
  // createRedis() resolves once ready, taking the IAM errors of the connect upon itself.
  const ioredisClients = Array.from({ length: SURGE / 2 }, () =>
    createRedis(manager, { host: limited.host, port: limited.port, tls: { ca } }),
  );
  const nodeRedisClients = Array.from({ length: SURGE / 2 }, async () => {
    const client = createClient(manager, {
      socket: { host: limited.host, port: limited.port, tls: true, ca },
    });
    client.on("error", onError);
    await client.connect();
    return client;
  });
  const settled = await Promise.allSettled([...ioredisClients, ...nodeRedisClients]);
  const elapsedMs = Date.now() - started;
  const ioredis = await Promise.all(ioredisClients);
  const nodeRedis = await Promise.all(nodeRedisClients);
  closers.push(
    ...ioredis.map((client) => async () => client.disconnect()),
    ...nodeRedis.map((client) => () => client.close()),
  );
  expect(settled.filter((outcome) => outcome.status === "rejected")).toEqual([]);

  expect(elapsedMs).toBeLessThan(30_000);
  expect(limited.stats().connections).toBe(SURGE);
  const pongs = await Promise.all([
    ...ioredis.map((client) => client.ping()),
    ...nodeRedis.map((client) => client.ping()),
  ]);
  expect(new Set(pongs)).toEqual(new Set(["PONG"]));
  const stats = limited.stats();
  // IAM turned part of the surge away (how much depends on how fast this machine opens 100 TLS
  // connections): those got in on a later, jittered try.
  expect(stats.iamExhausted).toBeGreaterThan(0);
  expect(manager.reasons).not.toContain("forced");
  expect(otherErrors).toEqual([]);
  const sum = (counts: number[]) => counts.reduce((total, n) => total + n, 0);
  const nodeRedisRetries = sum(
    nodeRedis.map((client) => nodeRedisBindingOf(client)?.status().iamRetries ?? 0),
  );
  const ioredisRetries = sum(
    ioredis.map((client) => ioredisBindingOf(client)?.status().iamRetries ?? 0),
  );
  // Every ERR_IAM_EXHAUSTED was retried, and each retry reached the user as a typed error.
  expect(ioredisRetries + nodeRedisRetries).toBe(stats.iamExhausted);
  expect(iamErrors).toHaveLength(nodeRedisRetries);
  expect(iamErrors.every((error) => error.code === "ERR_IAM_EXHAUSTED")).toBe(true);
}, 60_000);
