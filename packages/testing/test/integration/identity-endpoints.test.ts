import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { once } from "node:events";
import { connect } from "node:net";
import { InvalidOptionsError } from "@redis-credentials/core";
import { type ClientCertificate, createClientCertificate } from "../../src/certificates";
import { type IdentityEmulator, startIdentityEmulator } from "../../src/identity-emulator";
import { parseJwt, signJwt, verifySignature } from "../../src/token-issuer";
import {
  failureOf,
  imdsRequest,
  type RawResponse,
  rawRequest,
  secretTokenRequest,
  sleep,
  useIdentityEmulator,
} from "./identity-helpers";

// The emulator's endpoints as raw HTTP: the documents, the error bodies, the faults, the counters.

let idp: IdentityEmulator;
useIdentityEmulator({ tokenLifetimeMs: 60_000 }, (started) => {
  idp = started;
});

const tokenEndpoint = () => `${idp.authorityHost}/${idp.tenantId}/oauth2/v2.0/token`;

function expectEntraError(response: RawResponse, status: number, error: string, code: number) {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ error, error_codes: [code] });
  expect(response.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
  expect(response.body.error_description).toMatch(
    /\r\nTrace ID: .+\r\nCorrelation ID: .+\r\nTimestamp: /,
  );
  expect(response.body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
}

describe("discovery", () => {
  test("listens over HTTPS on 127.0.0.1 and plain HTTP for managed identity", () => {
    expect(idp.authorityHost).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(idp.managedIdentityEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(idp.ca).toContain("-----BEGIN CERTIFICATE-----");
  });

  test("the OpenID configuration names the endpoints MSAL needs, under the tenant", async () => {
    const response = await rawRequest(
      idp,
      `${idp.authorityHost}/${idp.tenantId}/v2.0/.well-known/openid-configuration`,
    );
    expect(response.status).toBe(200);
    const base = `${idp.authorityHost}/${idp.tenantId}`;
    expect(response.body).toMatchObject({
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      issuer: `${base}/v2.0`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
    });
  });

  test("the JWKS holds the key that verifies the emulator's tokens", async () => {
    const response = await rawRequest(
      idp,
      `${idp.authorityHost}/${idp.tenantId}/discovery/v2.0/keys`,
    );
    expect(response.status).toBe(200);
    const [jwk] = response.body.keys;
    const token = idp.issueToken({ objectId: "someone" });
    const parsed = parseJwt(token)!;
    expect(parsed.header.kid).toBe(jwk.kid);
    expect(verifySignature(parsed, createPublicKey({ key: jwk, format: "jwk" }))).toBe(true);
  });

  test("an unknown tenant gets AADSTS90002", async () => {
    const response = await rawRequest(
      idp,
      `${idp.authorityHost}/another-tenant/v2.0/.well-known/openid-configuration`,
    );
    expectEntraError(response, 400, "invalid_request", 90002);
  });

  test("discovery stays healthy during an outage", async () => {
    idp.faults.outage();
    const response = await rawRequest(
      idp,
      `${idp.authorityHost}/${idp.tenantId}/v2.0/.well-known/openid-configuration`,
    );
    expect(response.status).toBe(200);
  });
});

describe("token endpoint", () => {
  test("answers like Entra: Bearer, expires_in, ext_expires_in, access_token; no refresh_in for short tokens", async () => {
    const client = idp.registerClient({ tokenLifetimeMs: 10_000 });
    const response = await secretTokenRequest(idp, client);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(
      ["access_token", "expires_in", "ext_expires_in", "token_type"].sort(),
    );
    expect(response.body.token_type).toBe("Bearer");
    expect(response.body.expires_in).toBeGreaterThanOrEqual(9);
    expect(response.body.expires_in).toBeLessThanOrEqual(11);
    const verification = idp.verifyToken(response.body.access_token, { user: client.objectId });
    expect(verification.ok).toBe(true);
  });

  test("registered ids are the token's oid and appid", async () => {
    const client = idp.registerClient({
      clientId: "11111111-2222-3333-4444-555555555555",
      clientSecret: "my-secret",
      objectId: "66666666-7777-8888-9999-000000000000",
    });
    expect(client).toEqual({
      clientId: "11111111-2222-3333-4444-555555555555",
      clientSecret: "my-secret",
      objectId: "66666666-7777-8888-9999-000000000000",
    });
    const response = await secretTokenRequest(idp, client);
    const claims = parseJwt(response.body.access_token)!.claims;
    expect(claims).toMatchObject({
      oid: client.objectId,
      appid: client.clientId,
      tid: idp.tenantId,
    });
  });

  test("an emulator-wide audience is the token's aud and the only resource scope", async () => {
    const custom = await startIdentityEmulator({ audience: "api://my-cache" });
    try {
      const client = custom.registerClient();
      const good = await secretTokenRequest(custom, client, "api://my-cache/.default");
      expect(parseJwt(good.body.access_token)!.claims.aud).toBe("api://my-cache");
      expect(custom.verifyToken(good.body.access_token).ok).toBe(true);
      const bad = await secretTokenRequest(custom, client);
      expectEntraError(bad, 400, "invalid_scope", 70011);
    } finally {
      await custom.stop();
    }
  });

  test("refusals: unknown client 400 AADSTS700016, wrong secret 401 AADSTS7000215, bad scope 400 AADSTS70011", async () => {
    const client = idp.registerClient();
    expectEntraError(
      await secretTokenRequest(idp, { clientId: "nobody", clientSecret: "x" }),
      400,
      "unauthorized_client",
      700016,
    );
    expectEntraError(
      await secretTokenRequest(idp, { ...client, clientSecret: "wrong" }),
      401,
      "invalid_client",
      7000215,
    );
    expectEntraError(await secretTokenRequest(idp, client, "openid"), 400, "invalid_scope", 70011);
  });

  test("the correlation id MSAL sends comes back in the error", async () => {
    const response = await rawRequest(idp, `${tokenEndpoint()}?client-request-id=abc-123`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&client_id=nobody&client_secret=x&scope=x",
    });
    expect(response.body.correlation_id).toBe("abc-123");
    expect(response.body.error_description).toContain("Correlation ID: abc-123");
  });

  test("a grant other than client_credentials gets unsupported_grant_type", async () => {
    const response = await rawRequest(idp, tokenEndpoint(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=password&client_id=x",
    });
    expectEntraError(response, 400, "unsupported_grant_type", 70003);
  });
});

describe("client assertions", () => {
  let certificate: ClientCertificate;
  let key: KeyObject;
  beforeAll(async () => {
    certificate = await createClientCertificate();
    key = createPrivateKey(certificate.privateKey);
  });

  function assertionRequest(clientId: string, claims: Record<string, unknown>, alg = "RS256") {
    const now = Math.floor(Date.now() / 1000);
    const assertion = signJwt(
      { alg, typ: "JWT" },
      { aud: tokenEndpoint(), iss: clientId, sub: clientId, exp: now + 600, nbf: now, ...claims },
      key,
    );
    return rawRequest(idp, tokenEndpoint(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: clientId,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: assertion,
        grant_type: "client_credentials",
        scope: "https://redis.azure.com/.default",
      }).toString(),
    });
  }

  test("an RS256 assertion signed by the certificate's key gets a token", async () => {
    const client = idp.registerClient({ certificatePem: certificate.pem });
    const response = await assertionRequest(client.clientId, {});
    expect(response.status).toBe(200);
    expect(parseJwt(response.body.access_token)!.claims.oid).toBe(client.objectId);
  });

  test("another audience, an expired assertion, or iss not the client id: 401 invalid_client", async () => {
    const client = idp.registerClient({ certificatePem: certificate.pem });
    const now = Math.floor(Date.now() / 1000);
    expectEntraError(
      await assertionRequest(client.clientId, { aud: "https://login.microsoftonline.com/x" }),
      401,
      "invalid_client",
      50013,
    );
    expectEntraError(
      await assertionRequest(client.clientId, { exp: now - 3600, nbf: now - 4000 }),
      401,
      "invalid_client",
      700024,
    );
    expectEntraError(
      await assertionRequest(client.clientId, { iss: "someone-else" }),
      401,
      "invalid_client",
      50027,
    );
  });

  test("an assertion for a client registered with a secret only fails signature validation", async () => {
    const client = idp.registerClient();
    expectEntraError(await assertionRequest(client.clientId, {}), 401, "invalid_client", 700027);
  });
});

describe("faults", () => {
  test("outage: 503 temporarily_unavailable on the token endpoint", async () => {
    const client = idp.registerClient();
    idp.faults.outage();
    expectEntraError(await secretTokenRequest(idp, client), 503, "temporarily_unavailable", 90033);
    idp.faults.restore();
    expect((await secretTokenRequest(idp, client)).status).toBe(200);
  });

  test("latency: each token request takes at least the delay, until restore", async () => {
    const client = idp.registerClient();
    idp.faults.latency(250);
    const slow = await secretTokenRequest(idp, client);
    expect(slow.status).toBe(200);
    expect(slow.elapsedMs).toBeGreaterThanOrEqual(250);
    idp.faults.restore();
    expect((await secretTokenRequest(idp, client)).elapsedMs).toBeLessThan(250);
  });

  test("throttle: 429 with Retry-After (5 s by default)", async () => {
    const client = idp.registerClient();
    idp.faults.throttle();
    const response = await secretTokenRequest(idp, client);
    expectEntraError(response, 429, "temporarily_unavailable", 50196);
    expect(response.headers["retry-after"]).toBe("5");
    idp.faults.throttle(2);
    expect((await secretTokenRequest(idp, client)).headers["retry-after"]).toBe("2");
  });

  test("failNext(2, 500): two failures, then tokens again", async () => {
    const client = idp.registerClient();
    idp.faults.failNext(2, 500);
    expectEntraError(await secretTokenRequest(idp, client), 500, "server_error", 90033);
    expectEntraError(await secretTokenRequest(idp, client), 500, "server_error", 90033);
    expect((await secretTokenRequest(idp, client)).status).toBe(200);
  });

  test("failNext with 401 looks like a credential refusal", async () => {
    idp.faults.failNext(1, 401);
    expectEntraError(
      await secretTokenRequest(idp, idp.registerClient()),
      401,
      "invalid_client",
      7000215,
    );
  });

  test("hang: no answer until restore, which drops the connection; then tokens again", async () => {
    const client = idp.registerClient();
    idp.faults.hang();
    let settled = false;
    const pending = failureOf(secretTokenRequest(idp, client)).finally(() => {
      settled = true;
    });
    await sleep(300);
    expect(settled).toBe(false);
    idp.faults.restore();
    expect((await pending).code).toBe("ECONNRESET");
    expect((await secretTokenRequest(idp, client)).status).toBe(200);
  });

  test("stop while requests hang returns at once and drops them", async () => {
    const doomed = await startIdentityEmulator();
    const client = doomed.registerClient();
    doomed.faults.hang();
    const pending = failureOf(secretTokenRequest(doomed, client));
    const imdsPending = failureOf(imdsRequest(doomed));
    await sleep(100);
    const started = Date.now();
    await doomed.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await pending).code).toBe("ECONNRESET");
    expect((await imdsPending).code).toBe("ECONNRESET");
    expect(doomed.stats().requests.hung).toBe(2);
    // Stopped means stopped: nothing listens any more, and stop() is idempotent.
    expect((await failureOf(secretTokenRequest(doomed, client))).code).toBe("ECONNREFUSED");
    await doomed.stop();
  });

  test("stop does not wait for a client still in its TLS handshake", async () => {
    const emulator = await startIdentityEmulator();
    const { port } = new URL(emulator.authorityHost);
    // Connected, but no TLS handshake yet: not an HTTP connection, which closeAllConnections() ends.
    const silent = connect(Number(port), "127.0.0.1");
    await once(silent, "connect");
    const closed = once(silent, "close");
    const started = Date.now();
    await emulator.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    await closed;
  });

  test("stop during injected latency does not wait for it", async () => {
    const slow = await startIdentityEmulator();
    slow.faults.latency(60_000);
    const pending = failureOf(secretTokenRequest(slow, slow.registerClient()));
    await sleep(100);
    const started = Date.now();
    await slow.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await pending).code).toBe("ECONNRESET");
  });
});

describe("counters", () => {
  test("tokens issued in total and per client, requests by outcome", async () => {
    const counted = await startIdentityEmulator();
    try {
      const a = counted.registerClient();
      const b = counted.registerClient();
      await secretTokenRequest(counted, a);
      await secretTokenRequest(counted, a);
      await secretTokenRequest(counted, b);
      await secretTokenRequest(counted, { clientId: "nobody", clientSecret: "x" });
      await secretTokenRequest(counted, { ...a, clientSecret: "wrong" });
      await secretTokenRequest(counted, a, "https://example.com/.default");
      counted.faults.outage();
      await secretTokenRequest(counted, a);
      counted.faults.throttle();
      await secretTokenRequest(counted, a);
      counted.faults.restore();
      counted.faults.failNext(1, 502);
      await secretTokenRequest(counted, a);
      counted.issueToken({ objectId: "not counted" });

      expect(counted.stats()).toEqual({
        tokensIssued: 3,
        tokensIssuedByClient: { [a.clientId]: 2, [b.clientId]: 1 },
        requests: {
          ok: 3,
          unauthorized_client: 1,
          invalid_client: 1,
          invalid_scope: 1,
          outage: 1,
          throttled: 1,
          failed: 1,
        },
      });
    } finally {
      await counted.stop();
    }
  });
});

describe("the emulator as the Redis's token issuer", () => {
  test("verifyToken checks signature, audience, expiry and user", () => {
    const token = idp.issueToken({ objectId: "user-1", lifetimeMs: 5_000 });
    expect(idp.verifyToken(token, { user: "user-1" }).ok).toBe(true);
    expect(idp.verifyToken(token, { user: "user-2" })).toEqual({ ok: false, reason: "user" });
    expect(idp.verifyToken(token, { now: Date.now() + 10_000 })).toEqual({
      ok: false,
      reason: "expired",
    });
    const foreign = idp.issueToken({ objectId: "user-1", audience: "https://other" });
    expect(idp.verifyToken(foreign)).toEqual({ ok: false, reason: "audience" });
    expect(idp.tokenLifetimeMs).toBe(60_000);
    expect(idp.audience).toBe("https://redis.azure.com");
  });

  test("issueToken honours notBefore", () => {
    const token = idp.issueToken({ objectId: "user-1", notBefore: Date.now() + 60_000 });
    expect(idp.verifyToken(token)).toEqual({ ok: false, reason: "not-yet-valid" });
  });
});

describe("options", () => {
  test("registerClient refuses a taken client id and a non-certificate PEM", () => {
    const client = idp.registerClient();
    expect(() => idp.registerClient({ clientId: client.clientId })).toThrow(InvalidOptionsError);
    expect(() => idp.registerClient({ certificatePem: "not a pem" })).toThrow(
      "Invalid option `certificatePem`",
    );
  });

  test("http: false keeps the managed-identity endpoint on the HTTPS origin", async () => {
    const tlsOnly = await startIdentityEmulator({ http: false });
    try {
      expect(tlsOnly.managedIdentityEndpoint).toBe(tlsOnly.authorityHost);
      const response = await imdsRequest(tlsOnly);
      expect(response.status).toBe(200);
    } finally {
      await tlsOnly.stop();
    }
  });

  test("is AsyncDisposable", async () => {
    let port = "";
    {
      await using scoped = await startIdentityEmulator();
      port = new URL(scoped.authorityHost).port;
    }
    const error = await failureOf(
      rawRequest(idp, `https://127.0.0.1:${port}/${idp.tenantId}/discovery/v2.0/keys`),
    );
    expect(error.code).toBe("ECONNREFUSED");
  });
});
