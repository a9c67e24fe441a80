import { CredentialsError } from "@redis-credentials/core";

/**
 * An `@azure/identity` credential could not get a token. `code` and `status` say what Entra ID
 * (or the managed-identity endpoint) answered, `retryable` whether the token manager tries
 * again (a permanent one is marked with the core's `markPermanent`), and the message names the
 * likely cause. The original error is the `cause`. Never contains a token.
 */
export class EntraIdError extends CredentialsError {
  override name = "EntraIdError";
  /** The OAuth, MSAL or managed-identity error code, when there is one (`invalid_client`). */
  readonly code: string | undefined;
  /** The HTTP status of the token response, when the error carries it. */
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(
    message: string,
    details: { code?: string; status?: number; retryable: boolean; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.code = details.code;
    this.status = details.status;
    this.retryable = details.retryable;
  }
}
