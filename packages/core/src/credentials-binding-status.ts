/** A snapshot of a binding's connections; never a secret. */
export interface CredentialsBindingStatus {
  /** Connections kept authenticated right now (connecting or connected). */
  readonly connections: number;
  /** When a re-AUTH last succeeded (epoch ms). */
  readonly lastReauthAt?: number;
  /** Handshakes and re-AUTHs that Redis refused. */
  readonly reauthFailures: number;
}
