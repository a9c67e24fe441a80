/**
 * What a failed `getToken` means, read from what `@azure/identity` puts on the error rather than
 * from its class: the same HTTP answer arrives wrapped differently per credential.
 *
 * - Client secret, certificate and workload identity (MSAL confidential client):
 *   `AuthenticationRequiredError` whose message starts with the OAuth error code
 *   (`invalid_client: ...`); a network failure reads `network_error: ...`.
 * - `ManagedIdentityCredential` (IMDS, App Service, ...): `CredentialUnavailableError` with
 *   MSAL's error in `cause` (`status` and `errorCode`).
 * - `EnvironmentCredential`: `AuthenticationError` with `statusCode` 400 whatever happened, and
 *   the inner error's message (code first) in `errorResponse.errorDescription`.
 * - `DefaultAzureCredential` / `ChainedTokenCredential`: `AggregateAuthenticationError` with
 *   the members' errors in `errors`.
 */
export interface EntraIdErrorInfo {
  /** Worth another attempt: the identity provider is down, slow, throttling or unreachable. */
  readonly retryable: boolean;
  /** The OAuth error code (`invalid_client`), MSAL's (`network_error`), or the AADSTS code. */
  readonly code?: string;
  /** The HTTP status of the token response, when the error carries it. */
  readonly status?: number;
  /** The likely cause and what to do, in one sentence. */
  readonly hint: string;
}

const retryableCodes = new Set([
  "server_error",
  "temporarily_unavailable",
  "network_error",
  "request_timeout",
  "timed_out",
  "slow_down",
]);

const hints: Record<string, string> = {
  invalid_client:
    "The client secret or certificate is wrong or expired, or (workload identity) no federated credential of the app matches the service account token: check the app registration's Certificates & secrets or Federated credentials.",
  unauthorized_client:
    "The application is not known in this tenant (AADSTS700016): check the client id and the tenant id.",
  invalid_scope:
    "The scope was refused: Azure Managed Redis and Azure Cache for Redis take `https://redis.azure.com/.default` (or `acca5fbb-b7e4-4009-81f1-37e38fd66d78/.default`).",
  invalid_resource:
    "The resource was refused: Azure Managed Redis and Azure Cache for Redis take the scope `https://redis.azure.com/.default`.",
  invalid_request:
    "Entra ID refused the request: check the tenant id (AADSTS90002 means the tenant does not exist) and the client id.",
  invalid_grant:
    "The grant was refused: for workload identity, check the federated credential's issuer, subject and audience; for a certificate, that it is the one registered.",
  access_denied: "The identity was denied a token: check its permissions and conditional access.",
  identity_not_found:
    "The managed identity was not found: assign it to this Azure resource, and check the client id, object id or resource id you passed.",
  credential_unavailable:
    "No credential is available in this environment: on Azure, enable a managed identity for the resource; elsewhere, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or sign in with `az login`), or pass a credential to entraId().",
  retryable:
    "The identity provider is unavailable, throttling, or unreachable: retrying with backoff.",
};

interface AzureLikeError {
  name?: unknown;
  message?: unknown;
  statusCode?: unknown;
  status?: unknown;
  errorCode?: unknown;
  errorResponse?: { error?: unknown; errorDescription?: unknown };
  errors?: unknown;
  cause?: unknown;
}

/** Classifies an error thrown by an `@azure/identity` credential's `getToken`. */
export function classifyEntraIdError(error: unknown): EntraIdErrorInfo {
  if (typeof error !== "object" || error === null) {
    return { retryable: true, hint: hints.retryable as string };
  }
  const e = error as AzureLikeError;
  if (e.name === "AbortError") {
    return {
      retryable: true,
      code: "aborted",
      hint: "The token request was aborted or timed out.",
    };
  }
  if (Array.isArray(e.errors) && e.errors.length > 0) return classifyAggregate(e.errors);

  // MSAL's own error, as ManagedIdentityCredential passes it on in `cause`.
  const inner = e.cause as AzureLikeError | undefined;
  if (typeof inner === "object" && inner !== null && ("status" in inner || "errorCode" in inner)) {
    const status = typeof inner.status === "number" ? inner.status : undefined;
    const code = typeof inner.errorCode === "string" ? inner.errorCode : undefined;
    return fromManagedIdentity(status, code, String(inner.message ?? e.message ?? ""));
  }

  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  const message = String(e.message ?? "");
  const described =
    typeof e.errorResponse?.errorDescription === "string" ? e.errorResponse.errorDescription : "";
  const named = typeof e.errorResponse?.error === "string" ? e.errorResponse.error : "";
  const code =
    leadingCode(message) ??
    leadingCode(described.trim()) ??
    (oauthCode.test(named) ? named : undefined);
  if (status !== undefined && isTransientStatus(status)) return retryable(code, status);
  if (code !== undefined) return fromOAuthCode(code, `${message} ${described}`, status);
  if (e.name === "CredentialUnavailableError") {
    return {
      retryable: false,
      code: "credential_unavailable",
      hint: hints.credential_unavailable as string,
    };
  }
  return {
    retryable: true,
    ...(status !== undefined ? { status } : {}),
    hint: hints.retryable as string,
  };
}

function classifyAggregate(errors: unknown[]): EntraIdErrorInfo {
  const members = errors.map(classifyEntraIdError);
  const chosen =
    members.find((member) => member.retryable) ??
    // The member that got furthest says the most: an OAuth refusal rather than "not available here".
    members.find((member) => member.code !== "credential_unavailable") ??
    (members[0] as EntraIdErrorInfo);
  return chosen;
}

function fromManagedIdentity(
  status: number | undefined,
  code: string | undefined,
  message: string,
): EntraIdErrorInfo {
  // IMDS answers 404 and 410 while it is updating, and asks callers to retry.
  if (status !== undefined && (isTransientStatus(status) || status === 404 || status === 410)) {
    return retryable(code, status);
  }
  if (code !== undefined && retryableCodes.has(code)) return retryable(code, status);
  if (/identity not found|not assigned|no managed identity/i.test(message)) {
    return {
      retryable: false,
      code: code ?? "identity_not_found",
      ...(status !== undefined ? { status } : {}),
      hint: hints.identity_not_found as string,
    };
  }
  if (code !== undefined) return fromOAuthCode(code, message, status);
  return {
    retryable: false,
    ...(status !== undefined ? { status } : {}),
    hint: hints.identity_not_found as string,
  };
}

function fromOAuthCode(code: string, text: string, status: number | undefined): EntraIdErrorInfo {
  const statusField = status !== undefined ? { status } : {};
  if (retryableCodes.has(code)) return retryable(code, status);
  // AADSTS700024: the client assertion (a workload identity's projected token) is outside its
  // validity; the kubelet writes a fresh one, so a later attempt succeeds.
  if (code === "invalid_grant" && /AADSTS700024\b/.test(text)) return retryable(code, status);
  const hint =
    hints[code] ??
    `Entra ID refused the token request (${code}): check the credential's tenant id, client id and secret or certificate.`;
  return { retryable: false, code, ...statusField, hint };
}

function retryable(code: string | undefined, status: number | undefined): EntraIdErrorInfo {
  return {
    retryable: true,
    ...(code !== undefined ? { code } : {}),
    ...(status !== undefined ? { status } : {}),
    hint: hints.retryable as string,
  };
}

function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599);
}

const codePattern = "[a-z][a-z0-9]*(?:_[a-z0-9]+)+";
const oauthCode = new RegExp(`^${codePattern}$`);
const leadingCodePattern = new RegExp(`^(${codePattern}):`);

/**
 * `invalid_client: Error(s): ...` → `invalid_client`. (Managed identity messages put the code
 * after a prefix, but they carry it in `cause` too, which is read first.)
 */
function leadingCode(text: string): string | undefined {
  const match = leadingCodePattern.exec(text);
  return match?.[1];
}
