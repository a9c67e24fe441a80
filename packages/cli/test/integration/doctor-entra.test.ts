import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type IdentityEmulator,
  type RegisteredClient,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
  type TokenVerifier,
} from "@redis-credentials/testing";
import type { DoctorEntraCredentials, DoctorOptions } from "../../src/doctor-options";
import { parseDoctorArgs } from "../../src/parse-args";
import { runDoctor } from "../../src/run-doctor";
import { expectNoSecrets, outcomes, step } from "./doctor-helpers";

// The doctor with Microsoft Entra ID, end to end on this machine: a real ClientSecretCredential
// gets its token from the identity emulator, and the token-enforcing Redis (TLS) checks it. The
// Redis accepts only the identities added as its users, as Azure does.

let idp: IdentityEmulator;
let redis: TokenRedis;
let app: RegisteredClient;
let stranger: RegisteredClient;
const redisUsers = new Set<string>();
const directory = mkdtempSync(join(tmpdir(), "doctor-entra-"));

/** The emulator's verification, refusing valid tokens of identities that are not Redis users. */
function onlyRedisUsers(identity: IdentityEmulator): TokenVerifier {
  return {
    verifyToken(token, options) {
      const result = identity.verifyToken(token, options);
      if (result.ok && !redisUsers.has(result.claims.oid)) return { ok: false, reason: "user" };
      return result;
    },
  };
}

beforeAll(async () => {
  idp = await startIdentityEmulator();
  redis = await startTokenRedis({ identity: onlyRedisUsers(idp) });
  app = idp.registerClient();
  stranger = idp.registerClient();
  redisUsers.add(app.objectId);
  writeFileSync(join(directory, "redis-ca.pem"), redis.ca as string);
});
afterAll(async () => {
  await redis?.stop();
  await idp?.stop();
  rmSync(directory, { recursive: true, force: true });
});

/**
 * The options of `redis-credentials doctor <flags>`, for a service principal whose secret is in
 * DOCTOR_SECRET, against the emulator (AZURE_AUTHORITY_HOST), trusting its CA in process.
 */
function entraOptions(client: RegisteredClient, ...flags: string[]): DoctorOptions {
  const argv = [
    ...["doctor", "--entra", "--tenant-id", idp.tenantId, "--client-id", client.clientId],
    ...["--client-secret-env", "DOCTOR_SECRET", "--port", String(redis.port), ...flags],
  ];
  const parsed = parseDoctorArgs(argv, {
    DOCTOR_SECRET: client.clientSecret as string,
    AZURE_AUTHORITY_HOST: idp.authorityHost,
  });
  if (parsed.command !== "doctor") throw new Error("expected a doctor run");
  const credentials = parsed.options.credentials as DoctorEntraCredentials;
  const credentialOptions = { ...credentials.credentialOptions, tlsOptions: { ca: idp.ca } };
  return { ...parsed.options, credentials: { ...credentials, credentialOptions } };
}

/** The flags that trust the Redis's CA: --ca with a file holding it. */
const caFlags = () => ["--ca", join(directory, "redis-ca.pem")];

test("a service principal that is a Redis user: every step passes, whoami is its object id", async () => {
  const successes = redis.stats().authSuccesses;
  const report = await runDoctor(entraOptions(app, "--host", "localhost", ...caFlags()));
  expect(outcomes(report)).toEqual({
    credentials: "ok",
    dns: "ok",
    tcp: "ok",
    tls: "ok",
    auth: "ok",
    whoami: "ok",
    roundtrip: "ok",
  });
  expect(report.ok).toBe(true);
  const credentials = step(report, "credentials").detail;
  expect(credentials).toContain(
    `Entra ID service principal (client secret): tenant ${idp.tenantId}, client ${app.clientId}; scope https://redis.azure.com/.default`,
  );
  expect(credentials).toContain(`Redis user ${app.objectId}`);
  expect(credentials).toMatch(
    new RegExp(
      `token: object id ${app.objectId}, tenant ${idp.tenantId}, .*audience https://redis.azure.com, expires \\S+Z \\(in \\d+ min\\)`,
    ),
  );
  expect(step(report, "dns").detail).toMatch(/^localhost → .*127\.0\.0\.1 \(private\)/);
  expect(step(report, "tcp").detail).toContain(`127.0.0.1:${redis.port}`);
  expect(step(report, "tls").detail).toMatch(
    /^TLSv1\.[23], certificate .*DNS:localhost.*verified against the CA given \(--ca\) for localhost$/,
  );
  expect(step(report, "auth").detail).toBe(`AUTH as ${app.objectId}: OK`);
  expect(step(report, "whoami").detail).toBe(`authenticated as ${app.objectId}`);
  expect(step(report, "roundtrip").detail).toMatch(
    /^PING: PONG; SET, GET and DEL of redis-credentials:doctor:\S+ \(30 s expiry\): the value read back matches, 1 key deleted$/,
  );
  expect(redis.stats().authSuccesses).toBe(successes + 1);
  expectNoSecrets(report, [app.clientSecret as string]);
});

test("an identity that is not a Redis user: WRONGPASS, and the remedy names its object id and how to add it", async () => {
  const before = redis.stats().authRejected.user ?? 0;
  const report = await runDoctor(entraOptions(stranger, "--host", "127.0.0.1", ...caFlags()));
  expect(outcomes(report)).toEqual({
    credentials: "ok",
    dns: "ok",
    tcp: "ok",
    tls: "ok",
    auth: "failed",
    whoami: "skipped",
    roundtrip: "skipped",
  });
  expect(report.ok).toBe(false);
  const auth = step(report, "auth");
  expect(auth.detail).toBe("WRONGPASS invalid username-password pair or user is disabled.");
  expect(auth.remedy).toContain(
    `Redis refused the token of object id ${stranger.objectId}: this identity is not a Redis user of the cache`,
  );
  expect(auth.remedy).toContain(
    `az redis access-policy-assignment create --name <cache> --resource-group <group> --access-policy-name "Data Owner" --access-policy-assignment-name <name> --object-id ${stranger.objectId}`,
  );
  expect(auth.remedy).toContain("Microsoft Entra Authentication → Select member");
  expect(step(report, "whoami")).toEqual({
    name: "whoami",
    ok: false,
    detail: "not run: the auth step did not pass",
    skipped: true,
  });
  expect(redis.stats().authRejected.user).toBe(before + 1);
  expectNoSecrets(report, [stranger.clientSecret as string]);
});

test("a certificate Node.js does not trust (no --ca): the tls step says whose it is, and no token is sent", async () => {
  const attempts = redis.stats().authAttempts;
  const report = await runDoctor(entraOptions(app, "--host", "127.0.0.1"));
  expect(outcomes(report)).toMatchObject({
    credentials: "ok",
    tcp: "ok",
    tls: "failed",
    auth: "skipped",
  });
  const tls = step(report, "tls");
  expect(tls.detail).toMatch(
    /^the server's certificate did not verify against Node\.js's trust store: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY); certificate /,
  );
  expect(tls.remedy).toMatch(
    /^The certificate is not trusted: pass --ca FILE with the PEM of the CA that issued it \(/,
  );
  expect(redis.stats().authAttempts).toBe(attempts);
  expectNoSecrets(report, [app.clientSecret as string]);
});

test("a wrong client secret: the credentials step fails with Entra's answer, the network steps still run", async () => {
  const report = await runDoctor(
    entraOptions(
      { ...app, clientSecret: "not-the-secret-of-this-app" },
      "--host",
      "127.0.0.1",
      ...caFlags(),
    ),
  );
  expect(outcomes(report)).toEqual({
    credentials: "failed",
    dns: "ok",
    tcp: "ok",
    tls: "ok",
    auth: "skipped",
    whoami: "skipped",
    roundtrip: "skipped",
  });
  const credentials = step(report, "credentials");
  expect(credentials.detail).toMatch(
    /ClientSecretCredential could not get a token .*invalid_client/,
  );
  expect(credentials.remedy).toMatch(
    /^Entra ID refused the client secret: check that --client-secret-env names a variable holding a current secret of the app --client-id/,
  );
  expectNoSecrets(report, ["not-the-secret-of-this-app", app.clientSecret as string]);
});

test("--managed-identity <client-id>: a user-assigned identity from the managed identity endpoint", async () => {
  // MSAL reads the endpoint once per loaded copy: this file's first managed identity request.
  const saved = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = idp.managedIdentityEndpoint;
  try {
    const identity = idp.registerManagedIdentity();
    redisUsers.add(identity.objectId);
    const parsed = parseDoctorArgs(
      [
        ...["doctor", "--host", "127.0.0.1", "--port", String(redis.port), ...caFlags()],
        ...["--entra", "--managed-identity", identity.clientId],
      ],
      {},
    );
    if (parsed.command !== "doctor") throw new Error("expected a doctor run");
    const report = await runDoctor(parsed.options);
    expect(report.ok).toBe(true);
    expect(step(report, "credentials").detail).toMatch(
      new RegExp(
        `^Entra ID managed identity \\(user-assigned, client ${identity.clientId}\\); scope https://redis.azure.com/.default; Redis user ${identity.objectId}; token: object id ${identity.objectId}`,
      ),
    );
    expect(step(report, "whoami").detail).toBe(`authenticated as ${identity.objectId}`);
    expectNoSecrets(report, []);
  } finally {
    if (saved === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = saved;
  }
});
