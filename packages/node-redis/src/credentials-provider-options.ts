/** Options of `credentialsProvider()`. */
export interface CredentialsProviderOptions {
  /**
   * Send credentials over connections without TLS. Tokens are bearer secrets: only for a local
   * test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
  /**
   * Receives errors the provider cannot hand to a client: `CredentialsRejectedError` when Redis
   * refused fresh credentials too. Same as assigning `provider.onReAuthenticationError`.
   * @default ignore them (they also reach the manager's `subscriberError` event)
   */
  onReAuthenticationError?: (error: Error) => void;
}
