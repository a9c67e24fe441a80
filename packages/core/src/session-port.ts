import type { RedisCredentials } from "./types";

/**
 * Where one connection stands, as far as new credentials are concerned:
 * - `connecting`: the next handshake will present the manager's current credentials;
 * - `ready`: an AUTH can be sent now;
 * - `reconnect-to-reauthenticate`: ready, but the client cannot send AUTH in this state (a RESP2
 *   subscriber, MONITOR), so new credentials take a reconnect;
 * - `ended`: closed for good; the session stops listening.
 */
export type ConnectionState = "connecting" | "ready" | "reconnect-to-reauthenticate" | "ended";

/**
 * What an adapter supplies so that a {@link ConnectionSession} can drive one connection of its
 * client: the few things only the client library can do.
 */
export interface SessionPort {
  /** Host and port (or a description) of the server, for error messages. */
  readonly target: string;
  /** How long a connect may wait for valid credentials: the client's own connect timeout. */
  readonly connectTimeoutMs: number;
  connectionState(): ConnectionState;
  /**
   * Sends `AUTH username password` now; resolves when Redis accepts it, rejects with its reply.
   * Rejecting with a `CredentialsError` of the adapter's own (credentials the client cannot
   * take) hands that error to the manager's `subscriberError` event, with no retry.
   */
  sendAuth(credentials: RedisCredentials): Promise<unknown>;
  /** Drops the connection so that it reconnects at once; the handshake sends current credentials. */
  reconnect(): void;
  /**
   * Hands the user an error the session cannot return to anyone (a `CredentialsRejectedError`
   * once a forced refresh did not help). During a handshake it may throw instead, to fail it.
   */
  reportError(error: Error): void;
  /** The session stopped listening (the client closed for good, or the binding was disposed). */
  ended?(): void;
}
