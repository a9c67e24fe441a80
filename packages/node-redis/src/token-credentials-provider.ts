import type { CredentialsBinding } from "@redis-credentials/core";
import type { CredentialsProviderStatus } from "./credentials-provider-status";
import type { StreamingCredentialsListener } from "./node-redis-internals";

/** What `credentialsProvider()` returns: node-redis's streaming credentials provider, and a binding. */
export interface TokenCredentialsProvider extends CredentialsBinding {
  readonly type: "streaming-credentials-provider";
  /** Called by node-redis on every connect and reconnect of every client that uses this provider. */
  subscribe(
    listener: StreamingCredentialsListener,
  ): Promise<[{ username: string; password: string }, { dispose(): void }]>;
  /** Called with `CredentialsRejectedError` when Redis refused fresh credentials too. Assignable. */
  onReAuthenticationError: (error: Error) => void;
  status(): CredentialsProviderStatus;
  /** Stops re-authenticating every connection; clients keep the credentials they have. Idempotent. */
  dispose(): void;
}
