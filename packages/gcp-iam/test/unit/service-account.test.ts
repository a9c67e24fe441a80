import { verify } from "node:crypto";
import { inspect } from "node:util";
import { isPermanent } from "@redis-credentials/core";
import { GcpIamError, gcpIam } from "@redis-credentials/gcp-iam";
import { JWT } from "google-auth-library";
import nock from "nock";
import {
  accessToken,
  CLOUD_PLATFORM,
  counted,
  expectNoSecrets,
  failure,
  fakeLibraryTime,
  fastRetries,
  fetchOnce,
  isolateGoogleEnvironment,
  OAUTH,
  privateKeyParts,
  SERVICE_ACCOUNT,
  serviceAccountKey,
  tokenBody,
} from "../google-helpers";

// A service account key, as `new JWT({ email, key, scopes })` of google-auth-library uses it:
// the library signs an assertion with the key and trades it for an access token at Google's
// token endpoint (nock answers as Google does).
isolateGoogleEnvironment();

const JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

function serviceAccount(transporterOptions?: object): JWT {
  return new JWT({
    email: SERVICE_ACCOUNT,
    key: serviceAccountKey().privateKey,
    scopes: [CLOUD_PLATFORM],
    ...(transporterOptions ? { transporterOptions } : {}),
  });
}

test("a token: user `default`, the token as password, its expiry from expires_in; the assertion is signed with the key", async () => {
  const token = accessToken();
  let assertion = "";
  const scope = nock(OAUTH)
    .post("/token", (body: Record<string, string>) => {
      assertion = body.assertion ?? "";
      return body.grant_type === JWT_GRANT;
    })
    .reply(200, tokenBody(token, 3_600));
  const source = gcpIam({ auth: serviceAccount() });
  expect(source.name).toBe(`gcp-iam (service account ${SERVICE_ACCOUNT})`);

  const before = Date.now();
  const credentials = await fetchOnce(source);
  const after = Date.now();

  expect(scope.isDone()).toBe(true);
  expect(credentials.username).toBe("default");
  expect(credentials.password).toBe(token);
  expect(credentials.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
  expect(credentials.expiresAt).toBeLessThanOrEqual(after + 3_600_000);
  // The library signed for this service account and scope, with this key.
  const [header = "", payload = "", signature = ""] = assertion.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  expect(claims).toMatchObject({ iss: SERVICE_ACCOUNT, scope: CLOUD_PLATFORM });
  expect(
    verify(
      "RSA-SHA256",
      Buffer.from(`${header}.${payload}`),
      serviceAccountKey().publicKey,
      Buffer.from(signature, "base64url"),
    ),
  ).toBe(true);
  // Printed, the credentials show no token.
  const printed = `${inspect(credentials)} ${JSON.stringify(credentials)} ${String(credentials)}`;
  expect(printed).not.toContain(token);
  expect(printed).toContain("default");
});

test("the library's cached token: no request while it is fresh, a new token once it nears expiry", async () => {
  const time = fakeLibraryTime();
  const tokens = [accessToken("first"), accessToken("second")];
  const endpoint = counted(() => [200, tokenBody(tokens.shift() as string, 3_600)] as const);
  const scope = nock(OAUTH).post("/token").times(2).reply(endpoint.reply);
  const source = gcpIam({ auth: serviceAccount() });

  const first = await fetchOnce(source);
  expect(endpoint.count).toBe(1);
  const firstExpiry = time.now() + 3_600_000;
  expect(first.expiresAt).toBe(firstExpiry);

  // Half an hour on: the library serves its cache, and nothing is asked of Google.
  time.advance(30 * 60_000);
  const again = await fetchOnce(source);
  expect(again.password).toBe(first.password);
  expect(again.expiresAt).toBe(firstExpiry);
  expect(endpoint.count).toBe(1);
  expect(scope.pendingMocks()).toHaveLength(1);

  // Four minutes before expiry (inside the library's 5-minute margin): a new token.
  time.set(firstExpiry - 4 * 60_000);
  const second = await fetchOnce(source);
  expect(endpoint.count).toBe(2);
  expect(second.password).not.toBe(first.password);
  expect(second.expiresAt).toBe(time.now() + 3_600_000);
  expect(scope.isDone()).toBe(true);
});

describe("what Google answers, classified", () => {
  const cases: {
    title: string;
    status: number;
    body: unknown;
    /** Requests the library makes: it retries 408, 429 and 5xx three times. */
    requests: number;
    code: string;
    retryable: boolean;
    hint: RegExp;
  }[] = [
    {
      title: "invalid_grant (a deleted key)",
      status: 400,
      body: { error: "invalid_grant", error_description: "Invalid JWT Signature." },
      requests: 1,
      code: "invalid_grant",
      retryable: false,
      hint: /key, or its service account, was deleted or disabled/,
    },
    {
      title: "invalid_grant (a clock minutes off)",
      status: 400,
      body: {
        error: "invalid_grant",
        error_description:
          "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
      },
      requests: 1,
      code: "invalid_grant",
      retryable: false,
      hint: /clock/,
    },
    {
      title: "unauthorized_client",
      status: 401,
      body: {
        error: "unauthorized_client",
        error_description:
          "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
      },
      requests: 1,
      code: "unauthorized_client",
      retryable: false,
      hint: /domain-wide delegation/,
    },
    {
      title: "403",
      status: 403,
      body: { error: "access_denied", error_description: "Permission denied." },
      requests: 1,
      code: "PERMISSION_DENIED",
      retryable: false,
      hint: /roles\/memorystore\.dbConnectionUser \(Memorystore for Valkey\) or roles\/redis\.dbConnectionUser \(Memorystore for Redis Cluster\)/,
    },
    {
      title: "500",
      status: 500,
      body: { error: "internal_failure", error_description: "Backend error." },
      requests: 4,
      code: "ServiceUnavailable",
      retryable: true,
      hint: /retrying with backoff/,
    },
    {
      title: "503 with an HTML page",
      status: 503,
      body: "<html><body>Service Unavailable</body></html>",
      requests: 4,
      code: "ServiceUnavailable",
      retryable: true,
      hint: /retrying with backoff/,
    },
    {
      title: "429",
      status: 429,
      body: { error: "rate_limit_exceeded", error_description: "Rate limit exceeded." },
      requests: 4,
      code: "Throttling",
      retryable: true,
      hint: /throttled/,
    },
  ];

  test.each(cases)(
    "$title: $code, retryable $retryable",
    async ({ status, body, requests, code, retryable, hint }) => {
      const endpoint = counted(() => [status, body] as const);
      nock(OAUTH).post("/token").times(requests).reply(endpoint.reply);
      const error = await failure(fetchOnce(gcpIam({ auth: serviceAccount(fastRetries) })));

      expect(endpoint.count).toBe(requests);
      expect(error.code).toBe(code);
      expect(error.status).toBe(status);
      expect(error.retryable).toBe(retryable);
      expect(isPermanent(error)).toBe(!retryable);
      expect(error.message).toContain(
        `as service account ${SERVICE_ACCOUNT} (${code}, HTTP ${status})`,
      );
      expect(error.message).toMatch(hint);
      expect((error.cause as { status?: number }).status).toBe(status);
      expectNoSecrets(error, privateKeyParts());
    },
  );

  test("the library's own retry delays: a 503 three times, then a token", async () => {
    const token = accessToken();
    nock(OAUTH).post("/token").times(3).reply(503, "Service Unavailable");
    nock(OAUTH).post("/token").reply(200, tokenBody(token));
    const credentials = await fetchOnce(gcpIam({ auth: serviceAccount() }));
    expect(credentials.password).toBe(token);
  });

  test("a connection reset: NetworkError, retryable (the library tried three times)", async () => {
    const scope = nock(OAUTH)
      .post("/token")
      .times(3)
      .replyWithError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    const error = await failure(fetchOnce(gcpIam({ auth: serviceAccount(fastRetries) })));
    expect(scope.isDone()).toBe(true);
    expect(error.code).toBe("NetworkError");
    expect(error.status).toBeUndefined();
    expect(error.retryable).toBe(true);
    expect(isPermanent(error)).toBe(false);
    expect(error.message).toContain(`as service account ${SERVICE_ACCOUNT} (NetworkError)`);
    expect(error.message).toContain("could not be reached");
    expectNoSecrets(error, privateKeyParts());
  });

  test("no answer in time (gaxios' timeout): NetworkError, retryable", async () => {
    nock(OAUTH).post("/token").times(3).delay(2_000).reply(200, tokenBody(accessToken()));
    const error = await failure(
      fetchOnce(gcpIam({ auth: serviceAccount({ ...fastRetries, timeout: 50 }) })),
    );
    expect(error.code).toBe("NetworkError");
    expect(error.retryable).toBe(true);
  });

  test("a failure after a success does not show the token held, nor the key", async () => {
    const time = fakeLibraryTime();
    const token = accessToken();
    nock(OAUTH).post("/token").reply(200, tokenBody(token, 3_600));
    nock(OAUTH)
      .post("/token")
      .reply(400, { error: "invalid_grant", error_description: "Invalid JWT Signature." });
    const source = gcpIam({ auth: serviceAccount() });
    await fetchOnce(source);
    time.advance(58 * 60_000);
    const error = await failure(fetchOnce(source));
    expect(error).toBeInstanceOf(GcpIamError);
    expect(error.code).toBe("invalid_grant");
    expectNoSecrets(error, [token, ...privateKeyParts()]);
  });
});
