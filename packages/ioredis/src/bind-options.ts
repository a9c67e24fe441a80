/** What `bindCredentials`, `createRedis` and `createCluster` add to ioredis's own options. */
export interface BindOptions {
  /**
   * Send credentials over connections without TLS. Tokens are bearer secrets: only for a local
   * test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
}
