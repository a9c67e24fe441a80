import type { GcpIamErrorCode } from "./errors";

/** How a failure of google-auth-library is reported and whether it is worth another try. */
export interface GcpIamErrorInfo {
  readonly code: GcpIamErrorCode;
  /** Worth another attempt. `false` only for clear configuration errors. */
  readonly retryable: boolean;
  /** The HTTP status of the answer, when the error carries it. */
  readonly status?: number;
  /** The likely cause and what to do. */
  readonly hint: string;
  /**
   * Google's own words, when it gave any: the OAuth `error_description`, or the `message` of a
   * Google API error.
   */
  readonly description?: string;
}

/**
 * The shapes google-auth-library (10.x, 11.x) throws, read by their fields rather than their
 * classes (the application's copy of the library may not be this package's):
 *
 * - `GaxiosError` for an HTTP answer: `status` (and `response.status`), `response.data` the body
 *   (OAuth: `{ error, error_description }`; Google APIs: `{ error: { code, message, status } }`),
 *   `config.url` the endpoint. A service account key's request rewrites the message to
 *   `<error>: <error_description>`; `Compute` prefixes "Could not refresh access token:";
 *   `Impersonated` writes "<STATUS>: unable to impersonate: ...".
 * - The STS exchange of workload identity federation rethrows a plain `Error` ("Error code
 *   <error>: <error_description>") with the `GaxiosError`'s fields copied onto it.
 * - `GaxiosError` without a response when the request failed: `code` is the system error code
 *   (`ECONNRESET`) with node-fetch, `TimeoutError` for gaxios' own timeout; with a fetch that wraps
 *   system errors (Node's), the code is on a `cause` further down.
 * - Plain errors: "Could not load the default credentials..." when Application Default
 *   Credentials find nothing; "Unable to read the credential file specified by the
 *   GOOGLE_APPLICATION_CREDENTIALS environment variable: ..."; "The file at ... does not exist,
 *   or it is not a file." or the file system's own error (`ENOENT` with a `path`) for a subject
 *   token file.
 */
interface GoogleLikeError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  status?: unknown;
  type?: unknown;
  path?: unknown;
  config?: { url?: unknown };
  response?: { status?: unknown; data?: unknown };
  error?: unknown;
  cause?: unknown;
}

type Endpoint = "metadata" | "sts" | "iamcredentials" | "oauth2";

const NO_ADC = "Could not load the default credentials";
const unreadableFile = [
  /GOOGLE_APPLICATION_CREDENTIALS/,
  /^The file at .* does not exist, or it is not a file/,
  /Unable to parse the subject_token from the credential_source file/,
];

/** A file that is not there, or not readable: the system error of a credential file's read. */
const fileCodes = new Set(["ENOENT", "EACCES", "EPERM", "EISDIR", "ENOTDIR"]);

const networkCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "TimeoutError",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** Codes Google sends with a transient failure, whatever the HTTP status says. */
const unavailableCodes = new Set([
  "temporarily_unavailable",
  "server_error",
  "UNAVAILABLE",
  "INTERNAL",
  "DEADLINE_EXCEEDED",
]);

const connectRoles =
  "To connect, the principal also needs roles/memorystore.dbConnectionUser (Memorystore for Valkey) or roles/redis.dbConnectionUser (Memorystore for Redis Cluster) on the instance's project.";

const permissionHints: Record<Endpoint, string> = {
  metadata:
    "The metadata server refused a token for the service account: the VM's access scopes must include cloud-platform ('Allow full access to all Cloud APIs'); on GKE, check the Workload Identity binding of the Kubernetes service account.",
  iamcredentials:
    "Impersonation was refused: the calling principal needs roles/iam.serviceAccountTokenCreator on the target service account (with workload identity federation, the pool's principal needs roles/iam.workloadIdentityUser on it), and the IAM Service Account Credentials API must be enabled in its project.",
  sts: "The Security Token Service refused the exchange: check that the workload identity pool and provider are enabled and that the provider's attribute condition admits this subject.",
  oauth2:
    "Google refused the token request: check that the service account exists and is enabled, and its permissions.",
};

/**
 * invalid_grant, by what Google's description says. Its wording may change: a hint that names
 * every cause covers what these do not match.
 */
const invalidGrantHints: { pattern: RegExp; hint: string }[] = [
  {
    pattern: /\biat\b|\bexp\b|timeframe|clock|not yet valid/i,
    hint: "The signed assertion is outside its validity window: this machine's clock is minutes off. Sync it (NTP).",
  },
  {
    pattern: /expired or revoked|revoked/i,
    hint: "The refresh token was revoked or has expired: sign in again (`gcloud auth application-default login`), or use a service account.",
  },
  {
    pattern: /signature|account not found|disabled|deleted|\bkey\b/i,
    hint: "The service account key was refused: the key, or its service account, was deleted or disabled. Create a new key, or use the metadata server or workload identity federation rather than a key.",
  },
];

const invalidGrant =
  "The credentials were refused: a service account key that was deleted or disabled, a refresh token that was revoked or has expired (sign in again: `gcloud auth application-default login`), or a clock minutes off (signed assertions are valid only near their time: sync the clock).";

const invalidSubjectToken =
  "The Security Token Service refused the subject token: the workload identity pool provider does not accept its issuer, audience or claims (check the provider's issuer URI, allowed audiences and attribute condition).";

const hints = {
  staleSubjectToken:
    "The subject token (workload identity federation) has expired: whatever writes it (the kubelet for a projected service account token, the CI runner) should replace it soon; retrying.",
  unauthorized_client:
    "The client may not use this grant: a service account key used for domain-wide delegation (`subject`) without that client being authorized for the scopes in the Workspace admin console, or user credentials whose refresh token belongs to another OAuth client.",
  invalid_client:
    "The OAuth client of these credentials is unknown or its secret is wrong: sign in again (`gcloud auth application-default login`) or fix the client id and secret.",
  invalid_scope:
    "The scopes were refused: Memorystore takes tokens for https://www.googleapis.com/auth/cloud-platform.",
  CredentialsNotFound:
    "Application Default Credentials found none: on Compute Engine, GKE and Cloud Run the metadata server provides them; elsewhere set GOOGLE_APPLICATION_CREDENTIALS to a service account key or a workload identity federation configuration, run `gcloud auth application-default login`, or pass `auth` to gcpIam(). Retrying, in case the credential file is being mounted.",
  CredentialsFileUnreadable:
    "A credential file cannot be read: the file GOOGLE_APPLICATION_CREDENTIALS names, or the subject token file (credential_source) of a workload identity federation configuration. Check the path and the volume that provides it; retrying, in case it is not mounted yet.",
  Throttling:
    "Google throttled the token request: retrying with backoff. Many processes starting at once can cause this.",
  ServiceUnavailable: "The token endpoint or the metadata server failed: retrying with backoff.",
  NetworkError:
    "The token endpoint or the metadata server could not be reached: retrying with backoff. Check the network path (Private Google Access, a proxy, GCE_METADATA_HOST).",
  metadataNotFound:
    "The metadata server has no token for this service account: attach a service account to the VM, node pool or Cloud Run service; on GKE, bind the Kubernetes service account with Workload Identity. Retrying.",
  metadataFlavor:
    "Something other than the metadata server answered (no `Metadata-Flavor: Google` header): check GCE_METADATA_HOST and any proxy. Retrying.",
  ProviderError: "google-auth-library failed to get an access token: retrying with backoff.",
};

/** Classifies an error thrown by google-auth-library's `GoogleAuth#getClient` or `getAccessToken`. */
export function classifyGcpIamError(error: unknown): GcpIamErrorInfo {
  if (typeof error !== "object" || error === null) {
    return { code: "ProviderError", retryable: true, hint: hints.ProviderError };
  }
  const e = error as GoogleLikeError;
  const message = typeof e.message === "string" ? e.message : "";
  const status = httpStatus(e);
  const statusField = status !== undefined ? { status } : {};
  const answer = oauthAnswer(e, message);
  const endpoint = endpointOf(e);
  const said = answer.fromBody && answer.description ? { description: answer.description } : {};
  const retry = (code: GcpIamErrorCode, hint: string): GcpIamErrorInfo => ({
    code,
    retryable: true,
    ...statusField,
    hint,
    ...said,
  });
  const refuse = (code: GcpIamErrorCode, hint: string): GcpIamErrorInfo => ({
    code,
    retryable: false,
    ...statusField,
    hint,
    ...said,
  });

  if (status === 429 || answer.code === "RESOURCE_EXHAUSTED") {
    return retry("Throttling", hints.Throttling);
  }
  if (
    (status !== undefined && (status >= 500 || status === 408)) ||
    unavailableCodes.has(answer.code ?? "")
  ) {
    return retry("ServiceUnavailable", hints.ServiceUnavailable);
  }
  if (answer.code === "invalid_grant") {
    // A projected token read a moment too late is replaced by the kubelet: a later try succeeds.
    if (endpoint === "sts") {
      return /\b(expired|stale)\b/i.test(answer.description)
        ? retry("invalid_grant", hints.staleSubjectToken)
        : refuse("invalid_grant", invalidSubjectToken);
    }
    const specific = invalidGrantHints.find(({ pattern }) => pattern.test(answer.description));
    return refuse("invalid_grant", specific?.hint ?? invalidGrant);
  }
  if (
    answer.code === "unauthorized_client" ||
    answer.code === "invalid_client" ||
    answer.code === "invalid_scope"
  ) {
    return refuse(answer.code, hints[answer.code]);
  }
  if (status === 403 || answer.code === "PERMISSION_DENIED") {
    return refuse("PERMISSION_DENIED", `${permissionHints[endpoint ?? "oauth2"]} ${connectRoles}`);
  }
  if (message.startsWith(NO_ADC)) {
    return retry("CredentialsNotFound", hints.CredentialsNotFound);
  }
  if (
    status === undefined &&
    (unreadableFile.some((pattern) => pattern.test(message)) ||
      (typeof e.code === "string" && fileCodes.has(e.code) && typeof e.path === "string"))
  ) {
    return retry("CredentialsFileUnreadable", hints.CredentialsFileUnreadable);
  }
  if (status === undefined && isNetworkFailure(e)) {
    return retry("NetworkError", hints.NetworkError);
  }
  if (endpoint === "metadata" && status === 404) {
    return retry("ProviderError", hints.metadataNotFound);
  }
  if (/incorrect Metadata-Flavor header/.test(message)) {
    return retry("ProviderError", hints.metadataFlavor);
  }
  return retry(answer.code ?? "ProviderError", hints.ProviderError);
}

function httpStatus(e: GoogleLikeError): number | undefined {
  if (isStatus(e.status)) return e.status;
  const response = e.response;
  if (typeof response === "object" && response !== null && isStatus(response.status)) {
    return response.status;
  }
  return undefined;
}

function isStatus(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 100 && value <= 599;
}

const lowerCode = /^(?:Error code )?([a-z]+(?:_[a-z]+)+)(?::|$)/;
const upperCode = /^([A-Z]+(?:_[A-Z]+)+):/;

/**
 * The OAuth (or Google API) error code and description: from the answer's body, else from the
 * message the library wrote from it.
 */
function oauthAnswer(
  e: GoogleLikeError,
  message: string,
): { code: string | undefined; description: string; fromBody: boolean } {
  const data = typeof e.response === "object" && e.response !== null ? e.response.data : undefined;
  if (typeof data === "object" && data !== null) {
    const body = data as { error?: unknown; error_description?: unknown };
    if (typeof body.error === "string" && body.error.length > 0) {
      return {
        code: body.error,
        description: typeof body.error_description === "string" ? body.error_description : "",
        fromBody: true,
      };
    }
    if (typeof body.error === "object" && body.error !== null) {
      const apiError = body.error as { status?: unknown; message?: unknown };
      if (typeof apiError.status === "string" && apiError.status.length > 0) {
        return {
          code: apiError.status,
          description: typeof apiError.message === "string" ? apiError.message : "",
          fromBody: true,
        };
      }
    }
  }
  const line = message.split("\n")[0] ?? "";
  const match = lowerCode.exec(line) ?? upperCode.exec(line);
  return { code: match?.[1], description: line, fromBody: false };
}

function endpointOf(e: GoogleLikeError): Endpoint | undefined {
  let url: URL;
  try {
    const raw = typeof e.config === "object" && e.config !== null ? e.config.url : undefined;
    if (raw === undefined || raw === null) return undefined;
    url = new URL(String(raw));
  } catch {
    return undefined;
  }
  if (url.pathname.startsWith("/computeMetadata/")) return "metadata";
  if (url.hostname.startsWith("sts.")) return "sts";
  if (url.hostname.startsWith("iamcredentials.")) return "iamcredentials";
  return "oauth2";
}

/** A system or timeout error code anywhere along the error's causes. */
function isNetworkFailure(error: GoogleLikeError): boolean {
  let current: unknown = error;
  const seen = new Set<unknown>();
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    if (seen.has(current)) break;
    seen.add(current);
    const e = current as GoogleLikeError;
    if (typeof e.code === "string" && networkCodes.has(e.code)) return true;
    if (e.name === "TimeoutError" || e.name === "AbortError" || e.type === "request-timeout") {
      return true;
    }
    current = e.cause ?? e.error;
  }
  return false;
}
