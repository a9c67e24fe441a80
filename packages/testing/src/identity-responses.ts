import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";

/** A refusal of the Entra token endpoint: the OAuth error, its AADSTS code, and the HTTP status. */
export interface EntraError {
  readonly status: number;
  readonly error: string;
  readonly code: number;
  readonly description: string;
}

/** A refusal of the IMDS endpoint, which answers in its own, shorter shape. */
export interface ImdsError {
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

export const entraErrors = {
  unknownTenant: (tenant: string): EntraError => ({
    status: 400,
    error: "invalid_request",
    code: 90002,
    description: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  }),
  missingParameter: (name: string): EntraError => ({
    status: 400,
    error: "invalid_request",
    code: 900144,
    description: `The request body must contain the following parameter: '${name}'.`,
  }),
  unsupportedGrantType: (grantType: string): EntraError => ({
    status: 400,
    error: "unsupported_grant_type",
    code: 70003,
    description: `The app requested an unsupported grant type '${grantType}'.`,
  }),
  unknownClient: (clientId: string, tenant: string): EntraError => ({
    status: 400,
    error: "unauthorized_client",
    code: 700016,
    description: `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  missingCredential: (): EntraError => ({
    status: 401,
    error: "invalid_client",
    code: 7000218,
    description:
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  wrongSecret: (clientId: string): EntraError => ({
    status: 401,
    error: "invalid_client",
    code: 7000215,
    description: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  malformedAssertion: (why: string): EntraError => ({
    status: 401,
    error: "invalid_client",
    code: 50027,
    description: `JWT token is invalid or malformed: ${why}.`,
  }),
  assertionSignature: (clientId: string): EntraError => ({
    status: 401,
    error: "invalid_client",
    code: 700027,
    description: `Client assertion failed signature validation. No registered certificate of app '${clientId}' verifies it.`,
  }),
  assertionAudience: (audience: unknown, expected: string): EntraError => ({
    status: 401,
    error: "invalid_client",
    code: 50013,
    description: `Assertion audience claim does not match the required value. The audience in the assertion was '${String(audience)}' and the expected audience is '${expected}'.`,
  }),
  assertionExpired: (): EntraError => ({
    status: 401,
    error: "invalid_client",
    code: 700024,
    description: "Client assertion is not within its valid time range.",
  }),
  invalidScope: (scope: string): EntraError => ({
    status: 400,
    error: "invalid_scope",
    code: 70011,
    description: `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
  }),
  outage: (): EntraError => ({
    status: 503,
    error: "temporarily_unavailable",
    code: 90033,
    description: "A transient error has occurred. Please try again.",
  }),
  throttled: (retryAfterSeconds: number): EntraError => ({
    status: 429,
    error: "temporarily_unavailable",
    code: 50196,
    description: `The server terminated an operation because it encountered a client request loop. Retry after ${retryAfterSeconds} seconds.`,
  }),
  injected: (status: number): EntraError => {
    if (status === 401) {
      return {
        status,
        error: "invalid_client",
        code: 7000215,
        description: "Invalid client secret provided (injected failure).",
      };
    }
    if (status >= 500) {
      return {
        status,
        error: "server_error",
        code: 90033,
        description: "A transient error has occurred. Please try again (injected failure).",
      };
    }
    return {
      status,
      error: "invalid_request",
      code: 90014,
      description: "The request was refused (injected failure).",
    };
  },
};

export const imdsErrors = {
  missingMetadataHeader: (): ImdsError => ({
    status: 400,
    error: "invalid_request",
    description: "Required metadata header not specified",
  }),
  missingParameter: (name: string): ImdsError => ({
    status: 400,
    error: "invalid_request",
    description: `Required query variable '${name}' is missing`,
  }),
  multipleIdentities: (): ImdsError => ({
    status: 400,
    error: "invalid_request",
    description:
      "Multiple user assigned identities specified: pass one of client_id, object_id or msi_res_id",
  }),
  identityNotFound: (): ImdsError => ({
    status: 400,
    error: "invalid_request",
    description: "Identity not found",
  }),
  unknownResource: (resource: string, tenant: string): ImdsError => ({
    status: 400,
    error: "invalid_resource",
    description: `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${tenant}.`,
  }),
};

/** `2024-05-01 12:00:00Z`, the timestamp format of Entra's error bodies. */
function entraTimestamp(now: number): string {
  return `${new Date(now).toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** Writes an error the way Entra does: AADSTS code, trace and correlation ids in the description too. */
export function sendEntraError(
  res: ServerResponse,
  failure: EntraError,
  correlationId: string | undefined,
  headers: Record<string, string> = {},
): void {
  const traceId = randomUUID();
  const correlation = correlationId ?? randomUUID();
  const timestamp = entraTimestamp(Date.now());
  sendJson(
    res,
    failure.status,
    {
      error: failure.error,
      error_description: `AADSTS${failure.code}: ${failure.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
      error_codes: [failure.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlation,
      error_uri: `https://login.microsoftonline.com/error?code=${failure.code}`,
    },
    { "client-request-id": correlation, ...headers },
  );
}

export function sendImdsError(
  res: ServerResponse,
  failure: ImdsError,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    failure.status,
    { error: failure.error, error_description: failure.description },
    headers,
  );
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store, no-cache",
    ...headers,
  });
  res.end(text);
}
