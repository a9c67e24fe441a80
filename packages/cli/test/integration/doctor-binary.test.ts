import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type IdentityEmulator,
  type RegisteredClient,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import type { DoctorReport } from "../../src/doctor-report";
import { expectNoSecrets } from "./doctor-helpers";

// The `redis-credentials` command as users run it: the built dist/bin.js in its own process,
// pointed at the identity emulator the way a user would point it at another authority
// (AZURE_AUTHORITY_HOST, NODE_EXTRA_CA_CERTS) and at the token-enforcing Redis with --ca.

const packageDir = resolve(__dirname, "../..");
const bin = join(packageDir, "dist/bin.js");

/** What users run is the build: build it when it is missing or older than the source. */
function ensureBuilt() {
  const srcDir = join(packageDir, "src");
  const newestSource = Math.max(
    ...readdirSync(srcDir).map((file) => statSync(join(srcDir, file)).mtimeMs),
  );
  if (existsSync(bin) && statSync(bin).mtimeMs >= newestSource) return;
  execFileSync(process.execPath, [require.resolve("tsup/dist/cli-default.js")], {
    cwd: packageDir,
    stdio: "pipe",
  });
}

let idp: IdentityEmulator;
let redis: TokenRedis;
let app: RegisteredClient;
const directory = mkdtempSync(join(tmpdir(), "doctor-binary-"));

beforeAll(async () => {
  ensureBuilt();
  idp = await startIdentityEmulator();
  redis = await startTokenRedis({ identity: idp });
  app = idp.registerClient();
  writeFileSync(join(directory, "identity-ca.pem"), idp.ca);
  writeFileSync(join(directory, "redis-ca.pem"), redis.ca as string);
}, 120_000);
afterAll(async () => {
  await redis?.stop();
  await idp?.stop();
  rmSync(directory, { recursive: true, force: true });
});

/** Runs `redis-credentials <args>`; resolves with its exit status and output. */
function run(args: string[], env: Record<string, string>) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env.PATH ?? "", HOME: directory, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        done({ status, stdout, stderr });
      },
    );
  });
}

test("doctor --entra --json: exit 0, every step passed, JSON on stdout, no secret anywhere", async () => {
  const { status, stdout, stderr } = await run(
    [
      ...[
        "doctor",
        "--host",
        "127.0.0.1",
        "--port",
        String(redis.port),
        "--ca",
        join(directory, "redis-ca.pem"),
      ],
      ...[
        "--entra",
        "--tenant-id",
        idp.tenantId,
        "--client-id",
        app.clientId,
        "--client-secret-env",
        "DOCTOR_SECRET",
      ],
      "--json",
    ],
    {
      DOCTOR_SECRET: app.clientSecret as string,
      AZURE_AUTHORITY_HOST: idp.authorityHost,
      NODE_EXTRA_CA_CERTS: join(directory, "identity-ca.pem"),
    },
  );
  expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
  const report = JSON.parse(stdout) as DoctorReport;
  expect(report.ok).toBe(true);
  expect(report.steps.map((step) => [step.name, step.ok])).toEqual([
    ["credentials", true],
    ["dns", true],
    ["tcp", true],
    ["tls", true],
    ["auth", true],
    ["whoami", true],
    ["roundtrip", true],
  ]);
  expect(report.steps.find((step) => step.name === "whoami")?.detail).toBe(
    `authenticated as ${app.objectId}`,
  );
  expectNoSecrets(report, [app.clientSecret as string], stdout, stderr);
});

test("a wrong flag: exit 2, the flag and its fix on stderr, no stack trace", async () => {
  const { status, stdout, stderr } = await run(
    ["doctor", "--host", "127.0.0.1", "--gcp", "--prot", "6380"],
    {},
  );
  expect(status).toBe(2);
  expect(stdout).toBe("");
  expect(stderr).toBe(
    "redis-credentials: Invalid option `--prot`: unknown flag: did you mean --port?\nRun `redis-credentials doctor --help` for every flag.\n",
  );
});
