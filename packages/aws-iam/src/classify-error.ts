import type { ChainTrace } from "./default-chain";
import type { AwsIamErrorCode } from "./errors";

/** How a failure of the credential provider is reported and whether it is worth another try. */
export interface AwsIamErrorInfo {
  readonly code: AwsIamErrorCode;
  /** Worth another attempt. `false` only for clear configuration errors. */
  readonly retryable: boolean;
  /** The HTTP status of the answer, when the error carries it. */
  readonly status?: number;
  /** The likely cause and what to do. */
  readonly hint: string;
}

/**
 * The shapes the AWS SDK (v3) throws:
 *
 * - `CredentialsProviderError` (`name`, `tryNextLink`): a provider of the chain could not give
 *   credentials. The chain ends with "Could not load credentials from any providers", whatever each
 *   link said (that is in the chain's debug log, see {@link ChainTrace}).
 * - STS service exceptions (`AssumeRoleWithWebIdentity`, `AssumeRole`): `name` the error code
 *   (`AccessDenied`, `InvalidIdentityTokenException`, `Throttling`, ...), `Code` the code as STS
 *   sent it, `$fault` (`client`/`server`), `$metadata.httpStatusCode`.
 * - An answer STS could not parse (a bare 429 from a proxy): a plain `Error` with `$metadata`.
 * - Node.js errors with a `code`: `ENOENT` for a token file, `ECONNRESET` (named `TimeoutError`
 *   by the SDK's HTTP handler), ...
 */
interface AwsLikeError {
  name?: unknown;
  message?: unknown;
  Code?: unknown;
  code?: unknown;
  path?: unknown;
  statusCode?: unknown;
  tryNextLink?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The throttling codes the SDK's own retry strategy recognises. */
const throttlingCodes = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "TransactionInProgressException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "LimitExceededException",
  "RequestThrottled",
  "SlowDown",
  "PriorRequestNotComplete",
  "EC2ThrottledException",
]);

const networkCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

const fileCodes = new Set(["ENOENT", "EACCES", "EPERM", "EISDIR"]);

const NO_CREDENTIALS = "Could not load credentials from any providers";
const profilePatterns = [
  /Could not resolve credentials using profile: \[([^\]]*)\]/,
  /Profile (\S+) could not be found/,
];

const setUp =
  "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys), or AWS_PROFILE, or run with a role (an ECS task role, an EC2 instance profile, on EKS IRSA's AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE or EKS Pod Identity), or pass `credentials` to awsIam()";

/**
 * Classifies an error thrown by an AWS credential provider. `trace` is what the default chain
 * logged during the attempt (absent for a provider passed as `credentials`), `env` the
 * environment the chain read.
 */
export function classifyAwsIamError(
  error: unknown,
  trace?: ChainTrace,
  env: Readonly<Record<string, string | undefined>> = process.env,
): AwsIamErrorInfo {
  if (typeof error !== "object" || error === null) {
    return { code: "ProviderError", retryable: true, hint: retryHint };
  }
  const e = error as AwsLikeError;
  const name = typeof e.name === "string" ? e.name : "";
  const message = typeof e.message === "string" ? e.message : "";
  const metadataStatus = e.$metadata?.httpStatusCode;
  const status =
    typeof metadataStatus === "number"
      ? metadataStatus
      : typeof e.statusCode === "number"
        ? e.statusCode
        : undefined;
  const statusField = status !== undefined ? { status } : {};
  const isServiceError = typeof e.$fault === "string";
  const awsCode = typeof e.Code === "string" ? e.Code : isServiceError ? name : undefined;
  const nodeCode = typeof e.code === "string" ? e.code : undefined;

  if (status === 429 || throttlingCodes.has(awsCode ?? "") || throttlingCodes.has(name)) {
    return {
      code: awsCode !== undefined && throttlingCodes.has(awsCode) ? awsCode : "Throttling",
      retryable: true,
      ...statusField,
      hint: "AWS throttled the credential request: retrying with backoff. Many processes starting at once, or a provider without a cache, can cause this.",
    };
  }
  if (awsCode === "InvalidIdentityToken" || name === "InvalidIdentityTokenException") {
    return {
      code: "InvalidIdentityToken",
      retryable: false,
      ...statusField,
      hint: "STS refused the web identity token (AssumeRoleWithWebIdentity): check that the IAM OIDC identity provider of the cluster exists with the token's issuer and the audience sts.amazonaws.com, and that AWS_WEB_IDENTITY_TOKEN_FILE is the projected service account token.",
    };
  }
  if (
    awsCode === "AccessDenied" ||
    awsCode === "AccessDeniedException" ||
    name === "AccessDenied" ||
    name === "AccessDeniedException"
  ) {
    const webIdentity = /AssumeRoleWithWebIdentity/.test(message) || trace?.webIdentity === true;
    return webIdentity
      ? {
          code: "AccessDenied",
          retryable: false,
          ...statusField,
          hint: "STS denied AssumeRoleWithWebIdentity: the role's trust policy must allow sts:AssumeRoleWithWebIdentity for the cluster's OIDC provider, with conditions matching the service account (system:serviceaccount:<namespace>:<name>) and audience, and AWS_ROLE_ARN must name that role.",
        }
      : {
          code: "AccessDenied",
          retryable: true,
          ...statusField,
          hint: "AWS denied the credential request: check the identity's permissions (sts:AssumeRole) and the role's trust policy. Retrying, in case a new role or policy is still propagating.",
        };
  }
  if ((status !== undefined && status >= 500) || e.$fault === "server") {
    return {
      code: awsCode ?? "ServiceUnavailable",
      retryable: true,
      ...statusField,
      hint: "AWS or the credential endpoint failed: retrying with backoff.",
    };
  }
  if (
    awsCode === "ExpiredTokenException" ||
    awsCode === "ExpiredToken" ||
    name === "ExpiredTokenException"
  ) {
    return {
      code: awsCode ?? "ExpiredTokenException",
      retryable: true,
      ...statusField,
      hint: "The web identity token has expired: the kubelet (or whatever writes AWS_WEB_IDENTITY_TOKEN_FILE) should replace it soon; retrying.",
    };
  }

  const profile = profileNotFound(name, message, trace, env);
  if (profile !== undefined) {
    return {
      code: "ProfileNotFound",
      retryable: false,
      hint: `The profile \`${profile}\`${env.AWS_PROFILE === profile ? " (AWS_PROFILE)" : ""} is not in the shared config or credentials file (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE), or has no credentials in it: fix AWS_PROFILE or the files.`,
    };
  }
  if (message.startsWith(NO_CREDENTIALS)) {
    return {
      code: "CredentialsNotFound",
      retryable: true,
      hint: `No AWS credentials were found: ${setUp}. Retrying, in case a credential endpoint (IMDS, the ECS agent) was only briefly unavailable.`,
    };
  }
  if (nodeCode !== undefined && fileCodes.has(nodeCode) && typeof e.path === "string") {
    const tokenFile = e.path === env.AWS_WEB_IDENTITY_TOKEN_FILE || trace?.webIdentity === true;
    return tokenFile
      ? {
          code: "TokenFileUnreadable",
          retryable: true,
          hint: "The web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE) cannot be read: check the projected service account token volume; retrying.",
        }
      : { code: "ProviderError", retryable: true, hint: retryHint };
  }
  if (name === "TimeoutError" || (nodeCode !== undefined && networkCodes.has(nodeCode))) {
    return {
      code: "NetworkError",
      retryable: true,
      ...statusField,
      hint: "The credential endpoint or STS could not be reached: retrying with backoff. Check the network path (VPC endpoint for STS, the instance metadata hop limit for containers on EC2).",
    };
  }
  return {
    code: awsCode ?? "ProviderError",
    retryable: true,
    ...statusField,
    hint: retryHint,
  };
}

const retryHint = "The AWS credential provider failed: retrying with backoff.";

/**
 * The profile name when the failure is an unknown profile (or one without credentials): from
 * `fromIni` itself, or — the chain hides it — from the chain's log, when `AWS_PROFILE` chose it.
 * Without `AWS_PROFILE` the chain tries the `default` profile, whose absence is no error.
 */
function profileNotFound(
  name: string,
  message: string,
  trace: ChainTrace | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (name !== "CredentialsProviderError") return undefined;
  if (trace === undefined) return matchProfile(message);
  if (!message.startsWith(NO_CREDENTIALS)) return undefined;
  const chosen = env.AWS_PROFILE;
  if (!chosen) return undefined;
  return trace.failures.some((failure) => matchProfile(failure) === chosen) ? chosen : undefined;
}

function matchProfile(text: string): string | undefined {
  for (const pattern of profilePatterns) {
    const match = pattern.exec(text);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}
