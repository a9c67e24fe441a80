import { CredentialSourceError } from "@redis-credentials/core";

/**
 * What went wrong, as `AwsIamError.code`: the AWS error code when AWS answered (`AccessDenied`,
 * `InvalidIdentityToken`, `Throttling`, `ExpiredTokenException`, ...), otherwise one of these.
 */
export type AwsIamErrorCode =
  /** The credential chain found no credentials anywhere (retried: IMDS may be briefly down). */
  | "CredentialsNotFound"
  /** `AWS_PROFILE` (or a `fromIni` profile) names a profile that is missing or has no credentials. */
  | "ProfileNotFound"
  /** AWS or the credential endpoint throttled the request (HTTP 429 or a throttling error). */
  | "Throttling"
  /** The credential endpoint or STS answered with a 5xx. */
  | "ServiceUnavailable"
  /** The credential endpoint or STS could not be reached. */
  | "NetworkError"
  /** The web identity token file (`AWS_WEB_IDENTITY_TOKEN_FILE`) cannot be read. */
  | "TokenFileUnreadable"
  /** The provider returned something that is not an AWS credential identity. */
  | "InvalidCredentials"
  /** The provider returned credentials that have already expired. */
  | "CredentialsExpired"
  /** `@aws-sdk/credential-providers` (the default credential chain) is not installed. */
  | "SdkNotInstalled"
  /** The SigV4 signer failed. */
  | "SigningFailed"
  /** Any other failure of the credential provider. */
  | "ProviderError"
  | (string & {});

/**
 * The AWS credentials to sign an IAM token with could not be had. `code` says what happened,
 * `status` the HTTP status when AWS or a credential endpoint answered, `retryable` whether the
 * token manager tries again (a permanent one is marked with the core's `markPermanent`: only clear
 * configuration errors are), and the message what to set up. The original error is the `cause`.
 * Never contains a secret access key or session token.
 */
export class AwsIamError extends CredentialSourceError<AwsIamErrorCode> {
  override name = "AwsIamError";
}
