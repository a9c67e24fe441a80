import { CredentialsError } from "@redis-credentials/core";

/**
 * `createRedis`: the server closed the connection during the handshake, before the client was
 * ready, without an error reply. Usually the address is not a Redis server (or one that expects
 * TLS, or a proxy that dropped the connection). The client was disconnected; `cause` is the
 * client library's error, where it gave one.
 */
export class ConnectionClosedError extends CredentialsError {
  override name = "ConnectionClosedError";
  /** Where the client connected: `host:port`, or the sentinel master's name. */
  readonly target: string;

  constructor(target: string, options?: { cause?: unknown }) {
    super(
      `The server at ${target} closed the connection during the handshake, before the client was ready, without an error reply. ` +
        "Check that host and port point at a Redis server, and whether it expects TLS (`tls: {}`). " +
        "The client was disconnected.",
      options,
    );
    this.target = target;
  }
}
