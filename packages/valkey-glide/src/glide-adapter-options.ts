/** What the factories add to GLIDE's own configuration. */
export interface GlideAdapterOptions {
  /**
   * Send credentials without TLS (`useTLS` missing or false). Tokens are bearer secrets: only for
   * a local test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
  /**
   * Receives the errors the adapter cannot hand to a command, GLIDE having no error event:
   * `CredentialsRejectedError` when Redis refused fresh credentials too, `IamUnavailableError`
   * when IAM could not check them (ERR_IAM_*), `UsernameChangedError` when the source changed
   * the user name. Never called with a token.
   * @default ignore them (they also reach the manager's `subscriberError` event, except IamUnavailableError)
   */
  onError?: (error: Error) => void;
}
