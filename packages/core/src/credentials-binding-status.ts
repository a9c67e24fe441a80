/** A snapshot of a binding's connections; never a secret. */
export interface CredentialsBindingStatus {
  /** Connections kept authenticated right now (connecting or connected). */
  readonly connections: number;
  /** When a re-AUTH last succeeded (epoch ms). */
  readonly lastReauthAt?: number;
  /** Handshakes and re-AUTHs that Redis refused. */
  readonly reauthFailures: number;
  /**
   * Handshakes and re-AUTHs answered `ERR_IAM_EXHAUSTED` or `ERR_IAM_OTHER` (IAM could not check
   * the token now), each retried after a backoff.
   */
  readonly iamRetries: number;
}
