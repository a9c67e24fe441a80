/** What `bindCredentials`, `createRedis` and `createCluster` add to the client library's own options. */
export interface AdapterOptions {
  /**
   * Send credentials over connections without TLS. Tokens are bearer secrets: only for a local
   * test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
}

/** The options of `bindCredentials` (the name it has had since 0.0.0). */
export type BindOptions = AdapterOptions;
