import type { CredentialsBindingStatus } from "@redis-credentials/core";

/** `status()` of a node-redis binding: the shared shape, plus what only node-redis needs. */
export interface CredentialsProviderStatus extends CredentialsBindingStatus {
  /**
   * Of `connections`, those whose client could not be identified (a node-redis copy the adapter
   * has not seen): they are re-authenticated through node-redis, one subscription per connect.
   */
  readonly unidentified: number;
}
