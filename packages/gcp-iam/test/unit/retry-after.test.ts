import { createTokenManager } from "@redis-credentials/core";
import { gcpIam } from "@redis-credentials/gcp-iam";
import { JWT } from "google-auth-library";
import nock from "nock";
import {
  accessToken,
  CLOUD_PLATFORM,
  failure,
  fastRetries,
  fetchOnce,
  isolateGoogleEnvironment,
  OAUTH,
  SERVICE_ACCOUNT,
  serviceAccountKey,
  tokenBody,
} from "../google-helpers";

// Google's token endpoint throttling a service account key's token request: the GaxiosError
// keeps the response, and its Retry-After becomes the GcpIamError's retryAfterMs.
isolateGoogleEnvironment();

function serviceAccount(): JWT {
  return new JWT({
    email: SERVICE_ACCOUNT,
    key: serviceAccountKey().privateKey,
    scopes: [CLOUD_PLATFORM],
    transporterOptions: fastRetries,
  });
}

const rateLimited = { error: "rate_limit_exceeded", error_description: "Rate limit exceeded." };

afterEach(() => nock.cleanAll());

test("429 with Retry-After: 7 → retryAfterMs 7000", async () => {
  // The library retries 429 three times itself: the last answer is the one reported.
  nock(OAUTH).post("/token").times(4).reply(429, rateLimited, { "Retry-After": "7" });
  const error = await failure(fetchOnce(gcpIam({ auth: serviceAccount() })));
  expect(error).toMatchObject({ code: "Throttling", status: 429, retryAfterMs: 7_000 });
});

test("503 with an HTTP-date: the wait until then", async () => {
  const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 30_000).toUTCString();
  nock(OAUTH).post("/token").times(4).reply(503, "unavailable", { "Retry-After": at });
  const error = await failure(fetchOnce(gcpIam({ auth: serviceAccount() })));
  expect(error.retryable).toBe(true);
  expect(error.retryAfterMs).toBeGreaterThan(28_000);
  expect(error.retryAfterMs).toBeLessThanOrEqual(31_000);
});

test("no Retry-After: no retryAfterMs", async () => {
  nock(OAUTH).post("/token").times(4).reply(429, rateLimited);
  const error = await failure(fetchOnce(gcpIam({ auth: serviceAccount() })));
  expect(error.retryable).toBe(true);
  expect(error.retryAfterMs).toBeUndefined();
});

test("the token manager waits it before asking Google again", async () => {
  // A token inside the library's 5-minute refresh margin: its next getAccessToken asks Google.
  nock(OAUTH).post("/token").reply(200, tokenBody(accessToken(), 200));
  nock(OAUTH).post("/token").times(4).reply(429, rateLimited, { "Retry-After": "20" });
  const auth = serviceAccount();
  const manager = createTokenManager(gcpIam({ auth }), {
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
