import { describeError, isError } from "./describe-error";

/** Base class of every error this SDK throws; catch it with `instanceof`. */
export class CredentialsError extends Error {
  override name = "CredentialsError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An option or argument is wrong; `option` names it (`retry.initialDelayMs`). */
export class InvalidOptionsError extends CredentialsError {
  override name = "InvalidOptionsError";
  readonly option: string;

  constructor(option: string, message: string) {
    super(`Invalid option \`${option}\`: ${message}`);
    this.option = option;
  }
}

/** A fetch attempt failed: the source threw, timed out, or returned malformed credentials. */
export class CredentialsFetchError extends CredentialsError {
  override name = "CredentialsFetchError";
  /** The source's name. */
  readonly source: string;
  /** The field of the source's result that was wrong, for malformed credentials. */
  readonly field?: string;

  constructor(source: string, message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options);
    this.source = source;
    if (options?.field !== undefined) this.field = options.field;
  }
}

/** The credentials held have expired and the attempt to replace them failed. */
export class CredentialsExpiredError extends CredentialsError {
  override name = "CredentialsExpiredError";
}

/** The token manager was disposed. */
export class ManagerDisposedError extends CredentialsError {
  override name = "ManagerDisposedError";

  constructor(operation: string) {
    super(
      `Cannot ${operation}: the token manager was disposed. Create a new one with createTokenManager().`,
    );
  }
}

/** A token could not be read as a JWT. Never contains the token. */
export class InvalidTokenError extends CredentialsError {
  override name = "InvalidTokenError";
}

/**
 * Redis refused the credentials (WRONGPASS, NOAUTH) even after a forced refresh: the identity is
 * probably not a Redis user, or lacks access. The connection backs off and tries again when new
 * credentials arrive. Never contains the token.
 */
export class CredentialsRejectedError extends CredentialsError {
  override name = "CredentialsRejectedError";
  /** The source's name. */
  readonly source: string;
  /** The user name Redis refused (not a secret). */
  readonly username: string;

  constructor(source: string, username: string, options?: { cause?: unknown }) {
    super(
      `Redis rejected the credentials of user "${username}" from source "${source}", and again after a forced refresh. ` +
        "Check that this identity is added as a Redis user (on Azure: Data Access Configuration, with the object id as user name) " +
        "and that its access policy allows the commands you run.",
      options,
    );
    this.source = source;
    this.username = username;
  }
}

/** The error codes a cloud's IAM check answers AUTH with when it cannot check the token right now. */
export type IamUnavailableCode = "ERR_IAM_EXHAUSTED" | "ERR_IAM_OTHER";

const iamMeanings: Record<IamUnavailableCode, string> = {
  ERR_IAM_EXHAUSTED:
    "the IAM quota is exhausted: too many connections authenticated at once. Open connections more gradually, or fewer of them",
  ERR_IAM_OTHER: "a transient IAM error",
};

/**
 * Redis answered AUTH or HELLO with `ERR_IAM_EXHAUSTED` or `ERR_IAM_OTHER` (Google Cloud
 * Memorystore): IAM could not check the token right now. This is not a refusal of the
 * credentials: no refresh is forced, and the connection retries after a jittered, growing
 * backoff. Reported on the client's error path each time; counted in `status().iamRetries`.
 */
export class IamUnavailableError extends CredentialsError {
  override name = "IamUnavailableError";
  /** The reply's code. */
  readonly code: IamUnavailableCode;
  /** When the connection tries again. */
  readonly retryInMs: number;

  constructor(
    code: IamUnavailableCode,
    target: string,
    retryInMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `${target} could not check the credentials with IAM (${code}: ${iamMeanings[code]}). ` +
        `The credentials were not refused: the connection tries again in ${Math.round(retryInMs)} ms, backing off while it lasts.`,
      options,
    );
    this.code = code;
    this.retryInMs = retryInMs;
  }
}

/**
 * Refused to send a token over a connection without TLS: tokens are bearer secrets.
 * Enable TLS (`tls: {}`), or pass `allowInsecureTransport: true` for a local test server.
 */
export class InsecureTransportError extends CredentialsError {
  override name = "InsecureTransportError";

  constructor(target: string) {
    super(
      `Refusing to send credentials to ${target} over a connection without TLS: tokens are bearer secrets. ` +
        "Enable TLS (for ioredis `tls: {}`, for node-redis `socket: { tls: true }`), " +
        "or pass `allowInsecureTransport: true` for a local test server.",
    );
  }
}

/** What a credential source knows of a failure of its identity library. */
export interface CredentialSourceErrorDetails<Code extends string | undefined> {
  /** What happened: the service's error code when it answered with one. */
  code: Code;
  /** Whether the token manager should try again; `false` marks the error permanent. */
  retryable: boolean;
  /** The HTTP status of the service's answer, when there was one. */
  status?: number;
  /** The library's error. */
  cause?: unknown;
  /**
   * How long the service asked callers to wait (its `Retry-After`, read with `parseRetryAfter`):
   * the token manager's next attempt waits at least this long. Ignored unless a finite number of
   * 0 or more.
   */
  retryAfterMs?: number;
}

/**
 * A credential source's identity library could not produce credentials: the base of the cloud
 * sources' errors (`EntraIdError`, `AwsIamError`, `GcpIamError`), and one a custom source can
 * throw. `code` says what happened, `status` the HTTP status when a service answered, and
 * `retryable` whether the token manager tries again: an error that is not retryable is marked
 * with {@link markPermanent} as it is made.
 */
export class CredentialSourceError<
  Code extends string | undefined = string | undefined,
> extends CredentialsError {
  override name = "CredentialSourceError";
  readonly code: Code;
  /** The HTTP status of the answer, when the error carries it. */
  readonly status: number | undefined;
  readonly retryable: boolean;
  /** How long the service asked callers to wait, when it said (see `RetryAfter`). */
  readonly retryAfterMs?: number;

  constructor(message: string, details: CredentialSourceErrorDetails<Code>) {
    super(message, { cause: details.cause });
    this.code = details.code;
    this.status = details.status;
    this.retryable = details.retryable;
    const wait = details.retryAfterMs;
    if (typeof wait === "number" && Number.isFinite(wait) && wait >= 0) this.retryAfterMs = wait;
    if (!details.retryable) markPermanent(this);
  }
}

const permanentMark = Symbol.for("redis-credentials.permanent");

/**
 * Marks an error as permanent: the token manager does not retry it (a bad secret, an identity
 * that is not a Redis user). Returns the error, so a source can `throw markPermanent(error)`.
 * A thrown value that is not an Error is wrapped in a `CredentialsError`.
 */
export function markPermanent(error: unknown): Error {
  // A frozen error cannot carry the mark: wrap it, keeping it as the cause.
  const marked =
    isError(error) && isExtensible(error)
      ? error
      : new CredentialsError(
          isError(error)
            ? describeError(error).message
            : `Permanent failure: ${describeError(error).message}`,
          { cause: error },
        );
  Object.defineProperty(marked, permanentMark, { value: true, enumerable: false });
  return marked;
}

/** Whether `error`, or an error in its `cause` chain, was marked with {@link markPermanent}. */
export function isPermanent(error: unknown): boolean {
  let current = error;
  try {
    for (let depth = 0; depth < 10 && typeof current === "object" && current !== null; depth++) {
      if ((current as Record<symbol, unknown>)[permanentMark] === true) return true;
      current = (current as { cause?: unknown }).cause;
    }
  } catch {
    // A revoked proxy, or a `cause` getter that throws: nothing marked it.
  }
  return false;
}

function isExtensible(value: object): boolean {
  try {
    return Object.isExtensible(value);
  } catch {
    return false;
  }
}
