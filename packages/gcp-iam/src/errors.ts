import { CredentialSourceError } from "@redis-credentials/core";

/**
 * What went wrong, as `GcpIamError.code`: the OAuth error code when Google's token endpoint
 * answered with one (`invalid_request`, `invalid_target`, ...), otherwise one of these.
 */
export type GcpIamErrorCode =
  /**
   * The credentials were refused (permanent): a deleted or disabled service account key, a revoked
   * or expired refresh token, a clock that is minutes off, or (workload identity federation) a
   * subject token the provider does not accept. An expired subject token is retried: it is
   * rewritten by whatever provides it.
   */
  | "invalid_grant"
  /** The client may not use this grant or these scopes (permanent). */
  | "unauthorized_client"
  /** The OAuth client (of user credentials) is unknown, or its secret is wrong (permanent). */
  | "invalid_client"
  /** The scopes were refused (permanent). */
  | "invalid_scope"
  /**
   * HTTP 403: the principal may not get this token (permanent). Impersonation without
   * `roles/iam.serviceAccountTokenCreator`, a VM without the `cloud-platform` access scope, ...
   */
  | "PERMISSION_DENIED"
  /** Application Default Credentials found nothing (retried: the metadata server may be back). */
  | "CredentialsNotFound"
  /**
   * A credential file cannot be read: the one GOOGLE_APPLICATION_CREDENTIALS names, or the subject
   * token file of a workload identity federation configuration (retried: it may not be mounted yet).
   */
  | "CredentialsFileUnreadable"
  /** The token endpoint or the metadata server answered with a 5xx or 408. */
  | "ServiceUnavailable"
  /** HTTP 429 or `RESOURCE_EXHAUSTED`. */
  | "Throttling"
  /** The token endpoint or the metadata server could not be reached, or did not answer in time. */
  | "NetworkError"
  /** `getAccessToken()` resolved without a token. */
  | "NoToken"
  /** Any other failure of google-auth-library or of the client. */
  | "ProviderError"
  | (string & {});

/**
 * google-auth-library could not get an access token. `code` says what happened, `status` the HTTP
 * status when Google (or the metadata server) answered, `retryable` whether the token manager
 * tries again (one that does not is marked with the core's `markPermanent`: only clear
 * configuration errors are), and the message names the principal and what to fix. The library's error is the
 * `cause`, with the request bodies and credential headers it carried removed. Never contains a
 * token, a private key, a refresh token or a client secret.
 */
export class GcpIamError extends CredentialSourceError<GcpIamErrorCode> {
  override name = "GcpIamError";
}
