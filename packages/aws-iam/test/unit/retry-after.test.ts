import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromTokenFile } from "@aws-sdk/credential-providers";
import { AwsIamError, awsIam } from "@redis-credentials/aws-iam";
import { createTokenManager } from "@redis-credentials/core";
import nock from "nock";
import {
  fetchOnce,
  interceptAwsHttp,
  isolateAwsEnvironment,
  REGION,
  STS,
  stsError,
  webIdentityResponse,
  xml,
} from "../aws-helpers";

// A throttled STS call (here AssumeRoleWithWebIdentity, as on EKS IRSA) surfaces as the
// provider's error: the SDK's service exception, which keeps the HTTP response as `$response`.
const env = isolateAwsEnvironment();
interceptAwsHttp();

const options = { userId: "orders-app", cacheName: "orders-cache", region: REGION };
const ROLE_ARN = "arn:aws:iam::123456789012:role/orders-cache";

function provider() {
  const tokenFile = join(env.home(), "eks-token");
  writeFileSync(tokenFile, "eyJhbGciOiJSUzI1NiJ9.service-account-token.sig");
  return fromTokenFile({
    webIdentityTokenFile: tokenFile,
    roleArn: ROLE_ARN,
    clientConfig: { region: REGION, maxAttempts: 1 },
  });
}

async function failure(promise: Promise<unknown>): Promise<AwsIamError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AwsIamError);
  return error as AwsIamError;
}

test("STS throttling with Retry-After: 7 → retryAfterMs 7000", async () => {
  nock(STS)
    .post("/")
    .reply(400, stsError("Throttling", "Rate exceeded"), { ...xml, "Retry-After": "7" });
  const error = await failure(fetchOnce(awsIam({ ...options, credentials: provider() })));
  expect(error).toMatchObject({ code: "Throttling", retryable: true, retryAfterMs: 7_000 });
});

test("429 with an HTTP-date: the wait until then", async () => {
  const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 30_000).toUTCString();
  nock(STS)
    .post("/")
    .reply(429, "Too Many Requests", { ...xml, "Retry-After": at });
  const error = await failure(fetchOnce(awsIam({ ...options, credentials: provider() })));
  expect(error.status).toBe(429);
  expect(error.retryAfterMs).toBeGreaterThan(28_000);
  expect(error.retryAfterMs).toBeLessThanOrEqual(31_000);
});

test("no header, or garbage in it: no retryAfterMs", async () => {
  nock(STS)
    .post("/")
    .reply(400, stsError("Throttling", "Rate exceeded"), { ...xml, "Retry-After": "soon" });
  const error = await failure(fetchOnce(awsIam({ ...options, credentials: provider() })));
  expect(error.retryable).toBe(true);
  expect(error.retryAfterMs).toBeUndefined();
});

test("the token manager waits it before asking STS again", async () => {
  const role = {
    accessKeyId: "ASIAROLE1EXAMPLE",
    secretAccessKey: "role-secret-1-0123456789abcdefghijklmnopqrstuv",
    sessionToken: "role-session-token-1",
    expiration: new Date(Math.floor((Date.now() + 3_600_000) / 1000) * 1000),
  };
  nock(STS).post("/").reply(200, webIdentityResponse(role), xml);
  nock(STS)
    .post("/")
    .reply(400, stsError("Throttling", "Rate exceeded"), { ...xml, "Retry-After": "20" });
  // A provider of its own per fetch: fromTokenFile caches nothing across calls.
  const manager = createTokenManager(awsIam({ ...options, credentials: provider() }), {
    minRefreshIntervalMs: 1,
    retry: { initialDelayMs: 10, maxDelayMs: 50 },
  });
  await manager.getCredentials();
  await expect(manager.refresh()).rejects.toThrow(/Throttling/);
  const waitMs = (manager.status().nextRefreshAt as number) - Date.now();
  expect(waitMs).toBeGreaterThan(18_000);
  expect(waitMs).toBeLessThanOrEqual(20_000);
  await manager.dispose();
});
