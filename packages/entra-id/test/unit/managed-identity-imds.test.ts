import { isPermanent } from "@redis-credentials/core";
import { EntraIdError, entraIdManagedIdentity } from "@redis-credentials/entra-id";
import nock from "nock";
import { fakeJwt, fetchOnce, IMDS, JWT_EARLIER_S } from "../entra-nock";

// ManagedIdentityCredential picks its endpoint once per process (MSAL keeps it in a static): with
// none of App Service's, Arc's or Cloud Shell's variables set, that is IMDS.
const IMDS_PATH = "/metadata/identity/oauth2/token";
const noRetries = { retryOptions: { maxRetries: 0 } };

/** IMDS's answer: seconds as strings, as IMDS sends them. */
function imdsToken(oid: string, seconds: number) {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + seconds - JWT_EARLIER_S;
  const accessToken = fakeJwt({ oid, exp, aud: "https://redis.azure.com" });
  return {
    accessToken,
    exp,
    body: {
      access_token: accessToken,
      expires_in: String(seconds),
      expires_on: String(now + seconds),
      resource: "https://redis.azure.com",
      token_type: "Bearer",
    },
  };
}

const imds = () => nock(IMDS).get(IMDS_PATH).query(true);

// MSAL caches managed-identity tokens process-wide, across credential instances: every test that
// must reach IMDS names an identity of its own.
let identities = 0;
const freshIdentity = () => ({
  clientId: `0000000${++identities}-0000-4000-8000-000000000000`,
  credentialOptions: noRetries,
});

afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

test("system-assigned: IMDS is asked for the Redis resource with the Metadata header; oid is the user name", async () => {
  const answer = imdsToken("system-oid", 3_600);
  const request = nock(IMDS, { reqheaders: { Metadata: "true" } })
    .get(IMDS_PATH)
    .query((query) => query.resource === "https://redis.azure.com" && query.client_id === undefined)
    .reply(200, answer.body);
  const credentials = await fetchOnce(entraIdManagedIdentity({ credentialOptions: noRetries }));
  expect(request.isDone()).toBe(true);
  expect(credentials.username).toBe("system-oid");
  expect(credentials.expiresAt).toBe(answer.exp * 1000);
  expect(credentials.refreshAt).toBeUndefined();
});

test.each([
  ["clientId", "client_id", "0e0f7c1a-2222-4c3d-8e9f-aaaaaaaaaaaa"],
  ["objectId", "object_id", "7b7b7b7b-3333-4c3d-8e9f-bbbbbbbbbbbb"],
  [
    "resourceId",
    "msi_res_id",
    "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app",
  ],
] as const)("user-assigned by %s: IMDS gets it as %s", async (option, parameter, id) => {
  const answer = imdsToken(`user-oid-${option}`, 3_600);
  const request = nock(IMDS)
    .get(IMDS_PATH)
    .query((query) => query[parameter] === id)
    .reply(200, answer.body);
  const source = entraIdManagedIdentity({ [option]: id, credentialOptions: noRetries });
  expect((await fetchOnce(source)).username).toBe(`user-oid-${option}`);
  expect(request.isDone()).toBe(true);
});

test("a token living over 2 hours: MSAL's refresh time (half way through) becomes the manager's refreshAt hint", async () => {
  const answer = imdsToken("long-oid", 6 * 3_600);
  imds().reply(200, { ...answer.body, client_id: "long" });
  const source = entraIdManagedIdentity({
    clientId: "1d1d1d1d-4444-4c3d-8e9f-cccccccccccc",
    credentialOptions: noRetries,
  });
  const credentials = await fetchOnce(source);
  expect(credentials.refreshAt).toBeDefined();
  const halfWay = Date.now() + 3 * 3_600_000;
  expect(Math.abs((credentials.refreshAt as number) - halfWay)).toBeLessThan(60_000);
  expect(credentials.refreshAt as number).toBeLessThan(credentials.expiresAt);
});

// How @azure/identity 4 wraps what IMDS answers (pinned), and what the source makes of it.
test.each([
  {
    status: 400,
    body: { error: "invalid_request", error_description: "Identity not found" },
    code: "invalid_request",
    retryable: false,
    hint: /not found: assign it to this Azure resource/,
  },
  {
    status: 403,
    body: { error: "forbidden", error_description: "Access denied" },
    code: "forbidden",
    retryable: false,
    hint: /forbidden/,
  },
  {
    status: 404,
    body: { error: "not_found", error_description: "IMDS is updating" },
    code: "not_found",
    retryable: true,
    hint: /unavailable/,
  },
  {
    status: 429,
    body: { error: "too_many_requests", error_description: "slow down" },
    code: "too_many_requests",
    retryable: true,
    hint: /throttling/,
  },
  {
    status: 500,
    body: { error: "unknown", error_description: "internal error" },
    code: "unknown",
    retryable: true,
    hint: /unavailable/,
  },
])(
  "IMDS HTTP $status: CredentialUnavailableError with MSAL's error in cause; retryable: $retryable",
  async ({ status, body, code, retryable, hint }) => {
    imds().times(3).reply(status, body);
    const failure = (await fetchOnce(entraIdManagedIdentity(freshIdentity())).catch(
      (e: unknown) => e,
    )) as EntraIdError;
    expect(failure).toBeInstanceOf(EntraIdError);
    const raw = failure.cause as Error & { cause: { status: number; errorCode: string } };
    expect(raw.name).toBe("CredentialUnavailableError");
    expect(raw.message).toMatch(/^ManagedIdentityCredential: Authentication failed\. Message /);
    expect(raw.cause.status).toBe(status);
    expect(raw.cause.errorCode).toBe(code);
    expect(failure.status).toBe(status);
    expect(failure.retryable).toBe(retryable);
    expect(isPermanent(failure)).toBe(!retryable);
    expect(failure.message).toMatch(hint);
  },
);

test("IMDS unreachable, or answering a non-JSON 503: network_error, retryable", async () => {
  imds()
    .times(3)
    .replyWithError(Object.assign(new Error("connect EHOSTUNREACH"), { code: "EHOSTUNREACH" }));
  const unreachable = (await fetchOnce(entraIdManagedIdentity(freshIdentity())).catch(
    (e: unknown) => e,
  )) as EntraIdError;
  expect((unreachable.cause as Error).message).toMatch(
    /^ManagedIdentityCredential: Network unreachable/,
  );
  expect(unreachable.code).toBe("network_error");
  expect(unreachable.retryable).toBe(true);

  imds().times(3).reply(503, "Service Unavailable");
  const html = (await fetchOnce(entraIdManagedIdentity(freshIdentity())).catch(
    (e: unknown) => e,
  )) as EntraIdError;
  expect(html.code).toBe("network_error");
  expect(html.retryable).toBe(true);
});

test("a slow IMDS: the manager's abort ends the attempt at once", async () => {
  imds().delay(3_000).reply(200, imdsToken("slow-oid", 3_600).body);
  const controller = new AbortController();
  const started = Date.now();
  const attempt = fetchOnce(entraIdManagedIdentity(freshIdentity()), controller.signal).catch(
    (e: unknown) => e,
  );
  setTimeout(() => controller.abort(new Error("attempt timed out")), 100);
  expect(((await attempt) as Error).message).toBe("attempt timed out");
  expect(Date.now() - started).toBeLessThan(2_000);
});

test("tokens rotate: once MSAL's cached token is within 5 minutes of expiry, the next fetch gets a new one", async () => {
  const clientId = "2e2e2e2e-5555-4c3d-8e9f-dddddddddddd";
  const first = imdsToken("rotating-oid", 200);
  const second = imdsToken("rotating-oid", 200);
  imds().reply(200, first.body);
  imds().reply(200, second.body);
  const source = entraIdManagedIdentity({ clientId, credentialOptions: noRetries });
  expect((await fetchOnce(source)).password).toBe(first.accessToken);
  expect((await fetchOnce(source)).password).toBe(second.accessToken);
});

test("more than one id for a user-assigned identity is refused up front", () => {
  expect(() => entraIdManagedIdentity({ clientId: "a", objectId: "b" })).toThrow(
    /at most one of clientId, objectId and resourceId/,
  );
  expect(() => entraIdManagedIdentity({ clientId: "" })).toThrow(/clientId.*non-empty/);
});
