import { CredentialSourceError } from "@redis-credentials/core";

/**
 * An `@azure/identity` credential could not get a token. `code` (the OAuth, MSAL or
 * managed-identity error code, when there is one: `invalid_client`) and `status` say what Entra ID
 * (or the managed-identity endpoint) answered, `retryable` whether the token manager tries
 * again (a permanent one is marked with the core's `markPermanent`), and the message names the
 * likely cause. The original error is the `cause`. Never contains a token.
 */
export class EntraIdError extends CredentialSourceError<string | undefined> {
  override name = "EntraIdError";
}
