import type { CredentialsBindingStatus } from "./credentials-binding-status";

/**
 * What keeps one client's connections authenticated with one token manager: every adapter's
 * `bindingOf(client)` returns it.
 */
export interface CredentialsBinding {
  /** Stops managing credentials for every connection of the binding; they keep what they have. Idempotent. */
  dispose(): void;
  status(): CredentialsBindingStatus;
}
