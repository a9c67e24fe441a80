// The Google Cloud mode example of docs/testing.md, as written there (only the package import
// points at the sources, and the environment is put back afterwards). Keep the two in step.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GoogleAuth } from "google-auth-library";
import Redis from "ioredis";
import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "../../src";

jest.setTimeout(30_000);

// gaxios, google-auth-library's HTTP client, loads node-fetch with `await import()`, which jest's
// CommonJS runtime refuses; where a `window` exists, gaxios uses its fetch: Node's own.
(globalThis as { window?: object }).window ??= {
  fetch: (...args: Parameters<typeof fetch>) => fetch(...args),
};

let idp: IdentityEmulator;
let redis: TokenRedis;
const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
const saved = { ...process.env };
const home = mkdtempSync(join(tmpdir(), "no-gcloud-login-")); // no developer's login in it

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: 2_000 }); // access tokens live 2 s
  redis = await startTokenRedis({ identity: idp, gcp: { newConnectionsPerSecond: 2 } });
  // Application Default Credentials find the emulator's metadata server, and nothing else.
  process.env.GCE_METADATA_HOST = idp.gceMetadataHost;
  process.env.HOME = home;
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
});

afterAll(async () => {
  await redis?.stop();
  await idp?.stop();
  for (const name of ["GCE_METADATA_HOST", "HOME", "GOOGLE_APPLICATION_CREDENTIALS"]) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  rmSync(home, { recursive: true, force: true });
});

/** The application's password, as in production: an access token of its service account. */
async function accessToken(): Promise<string> {
  const client = await auth.getClient();
  return (await client.getAccessToken()).token!;
}

function connect(password: string) {
  const client = new Redis({
    host: redis.host,
    port: redis.port,
    tls: { ca: redis.ca },
    username: "default", // Memorystore's only user
    password,
    lazyConnect: true,
    retryStrategy: () => null, // do not reconnect: we want to see every refusal
  });
  client.on("error", () => {});
  return client;
}

test("a connection outlives its access token: Memorystore checks it at AUTH only", async () => {
  const client = connect(await accessToken());
  await client.connect();
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // the token has expired
  expect(await client.ping()).toBe("PONG");
  expect(redis.stats().closedAtExpiry).toBe(0);
  expect(redis.stats().connectionsByUser).toEqual({ [idp.googleServiceAccount]: 1 });
  client.disconnect();
});

test("new connections beyond the quota get ERR_IAM_EXHAUSTED", async () => {
  const password = await accessToken();
  const clients = Array.from({ length: 12 }, () => connect(password));
  const results = await Promise.allSettled(clients.map((client) => client.connect()));
  // Two per second: however the connects fall over one or two seconds, at most four get in.
  expect(results.filter((result) => result.status === "fulfilled").length).toBeLessThanOrEqual(4);
  expect(redis.stats().iamExhausted).toBeGreaterThanOrEqual(8);
  // The refused ones are closed already (disconnect() would leave a 2-second timer behind).
  for (const client of clients) if (client.status !== "end") client.disconnect();
});
