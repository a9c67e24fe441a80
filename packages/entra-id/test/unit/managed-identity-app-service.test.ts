import { isPermanent } from "@redis-credentials/core";
import { EntraIdError, entraIdManagedIdentity } from "@redis-credentials/entra-id";
import nock from "nock";
import { fakeJwt, fetchOnce } from "../entra-nock";

// App Service and Azure Functions publish their identity endpoint in IDENTITY_ENDPOINT and
// IDENTITY_HEADER; ManagedIdentityCredential reads them at its first token request (MSAL keeps
// the choice in a static, which jest gives each test file afresh).
const ENDPOINT = "http://127.0.0.1:41999";
const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
beforeAll(() => {
  process.env.IDENTITY_ENDPOINT = `${ENDPOINT}/msi/token`;
  process.env.IDENTITY_HEADER = "app-service-secret-header";
});
afterAll(() => {
  for (const [name, value] of [
    ["IDENTITY_ENDPOINT", saved.endpoint],
    ["IDENTITY_HEADER", saved.header],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

const noRetries = { retryOptions: { maxRetries: 0 } };

test("App Service: the identity endpoint gets the resource and the X-IDENTITY-HEADER; expires_on is honoured", async () => {
  const now = Math.floor(Date.now() / 1000);
  const accessToken = fakeJwt({ oid: "app-service-oid", exp: now + 3_600 });
  const request = nock(ENDPOINT, {
    reqheaders: { "x-identity-header": "app-service-secret-header" },
  })
    .get("/msi/token")
    .query(
      (query) =>
        query.resource === "https://redis.azure.com" && query["api-version"] === "2019-08-01",
    )
    .reply(200, {
      access_token: accessToken,
      // App Service answers in seconds since the epoch; a minute earlier than the JWT's exp.
      expires_on: now + 3_540,
      resource: "https://redis.azure.com",
      token_type: "Bearer",
    });
  const credentials = await fetchOnce(entraIdManagedIdentity({ credentialOptions: noRetries }));
  expect(request.isDone()).toBe(true);
  expect(credentials.username).toBe("app-service-oid");
  // expires_on, a minute before the JWT's exp, is the expiry: MSAL turns it into seconds from its
  // own clock and back, which can land one second early.
  expect(credentials.expiresAt).toBeGreaterThanOrEqual((now + 3_539) * 1000);
  expect(credentials.expiresAt).toBeLessThanOrEqual((now + 3_540) * 1000);
});

test.each([
  {
    status: 400,
    body: { error: "invalid_request", error_description: "Identity not found" },
    retryable: false,
  },
  { status: 500, body: { error: "unknown", error_description: "internal error" }, retryable: true },
])(
  "App Service HTTP $status: the same wrapping as IMDS; retryable: $retryable",
  async ({ status, body, retryable }) => {
    nock(ENDPOINT).get("/msi/token").query(true).times(3).reply(status, body);
    const source = entraIdManagedIdentity({
      clientId: `app-${status}`,
      credentialOptions: noRetries,
    });
    const failure = (await fetchOnce(source).catch((e: unknown) => e)) as EntraIdError;
    expect(failure).toBeInstanceOf(EntraIdError);
    expect((failure.cause as Error).name).toBe("CredentialUnavailableError");
    expect(failure.status).toBe(status);
    expect(failure.retryable).toBe(retryable);
    expect(isPermanent(failure)).toBe(!retryable);
  },
);
