/*
 * Whether a command failed because of credentials (an expired or refused token) rather than the
 * fault itself (a dropped connection, a timeout): the cases accept the second kind, counted, and
 * never the first.
 */

const CREDENTIAL_ERRORS = new Set([
  "CredentialsExpiredError",
  "CredentialsRejectedError",
  "CredentialsFetchError",
  "UsernameChangedError",
]);

/** Redis's own replies to a refused or missing AUTH. */
const CREDENTIAL_REPLY = /WRONGPASS|NOAUTH|invalid username-password/i;

export function isCredentialFailure(error: unknown): boolean {
  for (let at: unknown = error, depth = 0; at !== undefined && depth < 5; depth++) {
    // Read as a plain object: Node's own errors (ECONNRESET) come from another realm than
    // jest's test context, where `instanceof Error` is false.
    if (typeof at !== "object" || at === null) return CREDENTIAL_REPLY.test(String(at));
    const { name, message, cause } = at as { name?: unknown; message?: unknown; cause?: unknown };
    if (typeof name === "string" && CREDENTIAL_ERRORS.has(name)) return true;
    if (typeof message === "string" && CREDENTIAL_REPLY.test(message)) return true;
    at = cause;
  }
  return false;
}
