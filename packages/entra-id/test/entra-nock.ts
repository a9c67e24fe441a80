import { randomBytes } from "node:crypto";
import type { CredentialSource, RedisCredentials } from "@redis-credentials/core";
import nock from "nock";

/** The tenant the tests' credentials sign in to. */
export const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const CLIENT_ID = "3c9a4cf5-1111-4a5e-9d1c-0f0b1e2a3c4d";
export const LOGIN = "https://login.microsoftonline.com";
export const IMDS = "http://169.254.169.254";
export const REDIS_SCOPE = "https://redis.azure.com/.default";

/** An unsigned JWT-shaped access token (only Redis verifies signatures; there is none here). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}.${randomBytes(24).toString("base64url")}`;
}

/** How much earlier than the token response's expiry the JWT's own `exp` is. */
export const JWT_EARLIER_S = 60;

/** A token for `oid` that expires in `seconds`, and Entra's JSON answer carrying it. */
export function tokenResponse(oid: string, seconds: number) {
  // The JWT's exp a minute before what expires_in says: MSAL dates expires_in from its own clock,
  // to the second, so only the earlier of the two is known exactly here, and it must be exp.
  const exp = Math.floor(Date.now() / 1000) + seconds - JWT_EARLIER_S;
  const accessToken = fakeJwt({ oid, exp, aud: "https://redis.azure.com", tid: TENANT });
  return {
    accessToken,
    exp,
    body: {
      token_type: "Bearer",
      expires_in: seconds,
      ext_expires_in: seconds,
      access_token: accessToken,
    },
  };
}

/**
 * The OpenID configuration MSAL reads once per credential before its first token request
 * (instance discovery of login.microsoftonline.com is built into MSAL).
 */
export function mockEntraDiscovery(): void {
  nock(LOGIN)
    .persist()
    .get(`/${TENANT}/v2.0/.well-known/openid-configuration`)
    .reply(200, {
      token_endpoint: `${LOGIN}/${TENANT}/oauth2/v2.0/token`,
      issuer: `${LOGIN}/${TENANT}/v2.0`,
      authorization_endpoint: `${LOGIN}/${TENANT}/oauth2/v2.0/authorize`,
      jwks_uri: `${LOGIN}/${TENANT}/discovery/v2.0/keys`,
    });
}

/** The v2.0 token endpoint; MSAL adds `client-request-id` to the query. */
export function tokenEndpoint() {
  return nock(LOGIN).post(`/${TENANT}/oauth2/v2.0/token`).query(true);
}

/** An Entra-shaped error body. */
export function entraError(error: string, description: string) {
  return {
    error,
    error_description: `${description}\r\nTrace ID: 0000\r\nCorrelation ID: 0000\r\nTimestamp: 2026-11-28 00:00:00Z`,
    error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
  };
}

/** No credential may keep a retry delay running between tests: fail fast. */
export const noRetries = { retryOptions: { maxRetries: 0 } };

/** One fetch of a source, as the token manager makes it (an abort signal of its own unless given). */
export function fetchOnce(
  source: CredentialSource,
  signal: AbortSignal = new AbortController().signal,
): Promise<RedisCredentials> {
  return source.fetch({ signal, reason: "initial" });
}
