import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { parseDoctorArgs } from "../../src/parse-args";
import { runDoctor } from "../../src/run-doctor";
import { expectNoSecrets, step } from "./doctor-helpers";

// --gcp: Application Default Credentials find the emulator's Compute Engine metadata server, as
// on Google Cloud, and the token-enforcing Redis checks the access token as Memorystore does
// (user `default`, ACL WHOAMI answering the service account). Nothing calls Google.

// gaxios (google-auth-library's HTTP client) loads node-fetch with `await import()`, which Jest's
// CommonJS runtime refuses; where a `window` exists, it uses that fetch: Node's own.
const globals = globalThis as { window?: { fetch: typeof fetch } };
globals.window ??= { fetch: (input, init) => globalThis.fetch(input, init) };

/** What google-auth-library would read a credential, project or metadata address from. */
const VARIABLES = [
  "GCE_METADATA_HOST",
  "GCE_METADATA_IP",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "CLOUDSDK_CONFIG",
  "METADATA_SERVER_DETECTION",
  "HOME",
];
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
const home = mkdtempSync(join(tmpdir(), "doctor-gcp-home-")); // no developer's gcloud login
let idp: IdentityEmulator;
let redis: TokenRedis;

beforeAll(async () => {
  idp = await startIdentityEmulator();
  redis = await startTokenRedis({ identity: idp, gcp: {} });
  for (const name of VARIABLES) delete process.env[name];
  process.env.HOME = home;
  process.env.GCE_METADATA_HOST = idp.gceMetadataHost;
  process.env.GOOGLE_CLOUD_PROJECT = idp.googleProjectId;
});
afterAll(async () => {
  await redis?.stop();
  await idp?.stop();
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  rmSync(home, { recursive: true, force: true });
});

test("Application Default Credentials: the principal, the user `default`, and whoami the service account", async () => {
  const parsed = parseDoctorArgs(
    ["doctor", "--host", "127.0.0.1", "--port", String(redis.port), "--gcp"],
    {},
  );
  if (parsed.command !== "doctor") throw new Error("expected a doctor run");
  const report = await runDoctor({ ...parsed.options, ca: redis.ca as string });
  expect(report.ok).toBe(true);
  expect(step(report, "credentials").detail).toMatch(
    new RegExp(
      `^Google Application Default Credentials; scope https://www.googleapis.com/auth/cloud-platform; service account ${idp.googleServiceAccount}; Redis user default; token expires \\S+Z \\(in \\d+ min\\)$`,
    ),
  );
  expect(step(report, "auth").detail).toBe("AUTH as default: OK");
  expect(step(report, "whoami").detail).toBe(
    `authenticated as ${idp.googleServiceAccount} (AUTH named default)`,
  );
  expectNoSecrets(report, []);
});
