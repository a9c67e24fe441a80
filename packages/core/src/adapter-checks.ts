import { InvalidOptionsError, ManagerDisposedError } from "./errors";
import type { TokenManager } from "./types";

/**
 * Checks an adapter's `manager` argument: `InvalidOptionsError` naming it when it is not a token
 * manager, `ManagerDisposedError` when it was disposed.
 */
export function assertTokenManager(manager: TokenManager, operation: string): void {
  if (typeof manager?.subscribe !== "function" || typeof manager.peekCredentials !== "function") {
    throw new InvalidOptionsError("manager", "must be a token manager from createTokenManager().");
  }
  if (manager.status().state === "disposed") throw new ManagerDisposedError(operation);
}

/**
 * Refuses credentials in a client's options (`InvalidOptionsError` naming `name`): the token
 * manager supplies them, and ones given here would be silently replaced or, worse, win.
 */
export function assertNoCredentialOptions(
  options: unknown,
  name: string,
  keys: readonly string[] = ["username", "password"],
): void {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError(name, "must be an object of client options.");
  }
  const given = keys.filter((key) => (options as Record<string, unknown>)[key] !== undefined);
  if (given.length > 0) {
    throw new InvalidOptionsError(
      name,
      `must not set ${keys.slice(0, -1).join(", ")} or ${keys.at(-1)}: the token manager supplies credentials.`,
    );
  }
}
