import { startTokenRedis, type TokenRedis } from "@redis-credentials/testing";
import type { DoctorOptions } from "../../src/doctor-options";
import { parseDoctorArgs } from "../../src/parse-args";
import { runDoctor } from "../../src/run-doctor";
import { expectNoSecrets, outcomes, step } from "./doctor-helpers";

// --aws: tokens signed with credentials from the AWS SDK's default chain (here its first link,
// the environment variables), checked by the token-enforcing Redis in AWS mode as ElastiCache
// checks them. Nothing calls AWS.

const AWS = {
  // Made up: the chain reads them from the environment, the server checks signatures with them.
  credentials: { accessKeyId: "AKIADOCTORTESTKEY001", secretAccessKey: "doctor/secret+access+key" },
  region: "eu-central-1",
  cacheName: "doctor-cache",
  userId: "doctor-user-01",
};
const VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_PROFILE",
];
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
let redis: TokenRedis;

beforeAll(async () => {
  redis = await startTokenRedis({ aws: AWS });
  process.env.AWS_ACCESS_KEY_ID = AWS.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = AWS.credentials.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  delete process.env.AWS_PROFILE;
});
afterAll(async () => {
  await redis?.stop();
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

/** `redis-credentials doctor --aws <flags>` against the local server, trusting its CA. */
function awsOptions(...flags: string[]): DoctorOptions {
  const argv = ["doctor", "--host", "127.0.0.1", "--port", String(redis.port), "--aws", ...flags];
  const parsed = parseDoctorArgs(argv, {});
  if (parsed.command !== "doctor") throw new Error("expected a doctor run");
  return { ...parsed.options, ca: redis.ca as string };
}

test("the user id, cache and region the server expects: every step passes, whoami is the user id", async () => {
  const report = await runDoctor(
    awsOptions("--user-id", AWS.userId, "--cache-name", AWS.cacheName, "--region", AWS.region),
  );
  expect(report.ok).toBe(true);
  const credentials = step(report, "credentials").detail;
  expect(credentials).toMatch(
    new RegExp(
      `^AWS IAM: user ${AWS.userId} of elasticache cache ${AWS.cacheName} in ${AWS.region}, signed with credentials from the AWS default credential chain; Redis user ${AWS.userId}; token: user ${AWS.userId}, cache ${AWS.cacheName}, elasticache in ${AWS.region}, signed with access key ${AWS.credentials.accessKeyId}, valid 900 s, until \\S+Z \\(in 15 min\\)$`,
    ),
  );
  expect(step(report, "whoami").detail).toBe(`authenticated as ${AWS.userId}`);
  expectNoSecrets(report, [AWS.credentials.secretAccessKey]);
});

test("another region than the cache's: WRONGPASS, and the remedy lists what must match", async () => {
  const report = await runDoctor(
    awsOptions("--user-id", AWS.userId, "--cache-name", AWS.cacheName, "--region", "us-west-2"),
  );
  expect(outcomes(report)).toMatchObject({
    credentials: "ok",
    tls: "ok",
    auth: "failed",
    whoami: "skipped",
  });
  const auth = step(report, "auth");
  expect(auth.detail).toBe("WRONGPASS invalid username-password pair or user is disabled.");
  expect(auth.remedy).toMatch(
    new RegExp(
      `^ElastiCache \\(or MemoryDB\\) refused the IAM token of user ${AWS.userId}\\. Check that --user-id is the IAM-enabled user's id .*--cache-name is the replication group id.*--region is the cache's region; --serverless for a Serverless cache, --memorydb for MemoryDB; .*elasticache:Connect`,
    ),
  );
  expect(redis.stats().authRejected.region).toBe(1);
  expectNoSecrets(report, [AWS.credentials.secretAccessKey]);
});
