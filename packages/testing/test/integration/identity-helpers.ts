import http from "node:http";
import https from "node:https";
import type { AccessToken } from "@azure/identity";
import {
  type IdentityEmulator,
  type IdentityEmulatorOptions,
  startIdentityEmulator,
} from "../../src/identity-emulator";
import type { TokenClaims } from "../../src/token-issuer";

/** The scope a credential asks for a Redis token. */
export const redisScope = "https://redis.azure.com/.default";

/**
 * The file's emulator: started before its tests (and handed to `use`), its faults restored after
 * each test, stopped after them all.
 */
export function useIdentityEmulator(
  options: IdentityEmulatorOptions,
  use: (idp: IdentityEmulator) => void,
): void {
  let idp: IdentityEmulator;
  beforeAll(async () => {
    idp = await startIdentityEmulator(options);
    use(idp);
  });
  afterAll(async () => {
    await idp.stop();
  });
  afterEach(() => {
    idp.faults.restore();
  });
}

/** The claims of a token the emulator signed (throws if it does not verify). */
export function claimsOf(idp: IdentityEmulator, token: AccessToken): TokenClaims {
  const verification = idp.verifyToken(token.token);
  if (!verification.ok) throw new Error(`token refused: ${verification.reason}`);
  return verification.claims;
}

export interface TimedToken {
  token: AccessToken;
  claims: TokenClaims;
  /** Date.now() before the request and after the answer. */
  before: number;
  after: number;
}

/** A token from `getToken`, its verified claims and when it was asked for. */
export async function timedToken(
  idp: IdentityEmulator,
  getToken: () => Promise<AccessToken>,
): Promise<TimedToken> {
  const before = Date.now();
  const token = await getToken();
  const after = Date.now();
  return { token, claims: claimsOf(idp, token), before, after };
}

/**
 * The token lives `lifetimeMs` from its request (give or take 500 ms). MSAL derives expiresOn from
 * expires_in and its own request time: it lands on `exp` (within a second).
 */
export function expectLifetime({ token, claims, before, after }: TimedToken, lifetimeMs: number) {
  expect(claims.exp * 1000).toBeGreaterThanOrEqual(before + lifetimeMs - 500);
  expect(claims.exp * 1000).toBeLessThanOrEqual(after + lifetimeMs + 500);
  expect(Math.abs(token.expiresOnTimestamp - claims.exp * 1000)).toBeLessThanOrEqual(1_000);
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  elapsedMs: number;
}

/** One request to the emulator over HTTPS (trusting its CA) or plain HTTP; JSON body parsed. */
export function rawRequest(
  idp: IdentityEmulator,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const started = Date.now();
  const target = new URL(url);
  const transport = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      target,
      {
        method: options.method ?? "GET",
        headers: options.headers ?? {},
        ...(target.protocol === "https:" ? { ca: idp.ca } : {}),
        agent: false,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            elapsedMs: Date.now() - started,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A client-credentials request with a secret, as MSAL sends it. */
export function secretTokenRequest(
  idp: IdentityEmulator,
  client: { clientId: string; clientSecret?: string },
  scope = redisScope,
): Promise<RawResponse> {
  return rawRequest(idp, `${idp.authorityHost}/${idp.tenantId}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: client.clientId,
      client_secret: client.clientSecret ?? "",
      grant_type: "client_credentials",
      scope,
    }).toString(),
  });
}

/** An IMDS token request, as ManagedIdentityCredential sends it. */
export function imdsRequest(
  idp: IdentityEmulator,
  query: Record<string, string> = {},
  headers: Record<string, string> = { Metadata: "true" },
): Promise<RawResponse> {
  const params = new URLSearchParams({
    "api-version": "2018-02-01",
    resource: "https://redis.azure.com",
    ...query,
  });
  return rawRequest(
    idp,
    `${idp.managedIdentityEndpoint}/metadata/identity/oauth2/token?${params}`,
    {
      headers,
    },
  );
}

/** The rejection of a promise that must fail. */
export async function failureOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
