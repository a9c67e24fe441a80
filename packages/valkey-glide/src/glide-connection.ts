import {
  ConnectionSession,
  type ConnectionState,
  IamUnavailableError,
  isCredentialsRejection,
  type RedisCredentials,
  SessionGroup,
  type SessionPort,
  type TokenManager,
} from "@redis-credentials/core";
import type { BaseClient } from "@valkey/valkey-glide";
import { UsernameChangedError } from "./username-changed-error";

/**
 * One GLIDE client mapped onto one core {@link ConnectionSession}. GLIDE's Rust core owns the
 * sockets (a connection per node, reconnects, pub/sub) and exposes no hook into them, only
 * `updateConnectionPassword(password, true)`: it re-authenticates the client's connections now
 * and is what every later reconnect presents. So the whole client is one "connection" to the
 * session: always ready until closed, new credentials go out as one password update, and a
 * refused one takes the session's path (one forced refresh, then CredentialsRejectedError).
 */
export class GlideConnection implements SessionPort {
  readonly group: SessionGroup;
  readonly session: ConnectionSession;
  readonly target: string;
  readonly connectTimeoutMs: number;
  readonly #source: string;
  readonly #onError: (error: Error) => void;
  #client: BaseClient | undefined;
  /** GLIDE cannot change it: fixed by the credentials the client was created with. */
  #username: string | undefined;
  #closed = false;
  /** The password the server last accepted from this client. */
  #accepted: string | undefined;
  /** Puts back GLIDE's own close(), when the binding is disposed. */
  #restore: (() => void) | undefined;

  constructor(
    manager: TokenManager,
    options: { target: string; connectTimeoutMs: number; allowInsecureTransport?: boolean },
    onError: (error: Error) => void,
  ) {
    this.target = options.target;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.#source = manager.name;
    this.#onError = onError;
    this.group = new SessionGroup(manager, options);
    this.session = new ConnectionSession(this.group, this, () => this.#restoreClose());
  }

  /** The client was created with `username`: from now on the session drives it. */
  attach(client: BaseClient, credentials: { username: string; password: string }): void {
    const { username } = credentials;
    this.#accepted = credentials.password;
    this.#client = client;
    this.#username = username;
    // GLIDE has no close event; its own fatal paths call close() on the instance too.
    const close = client.close;
    const session = this.session;
    client.close = function closeAndEndSession(this: BaseClient, ...args) {
      session.end();
      return close.apply(this, args);
    };
    this.#restore = () => {
      client.close = close;
    };
    this.session.ready();
  }

  connectionState(): ConnectionState {
    if (this.#closed) return "ended";
    return this.#client === undefined ? "connecting" : "ready";
  }

  async sendAuth(credentials: RedisCredentials): Promise<unknown> {
    const changed = this.#usernameChange(credentials);
    if (changed !== undefined) {
      this.#onError(changed);
      throw changed;
    }
    const client = this.#client!;
    try {
      const reply = await client.updateConnectionPassword(credentials.password, true);
      this.#accepted = credentials.password;
      return reply;
    } catch (error) {
      // GLIDE keeps a refused password for its reconnects, and a reconnect loop started with a
      // refused password never takes a later update (measured on 2.5.2): put back the one the
      // live connections hold.
      if (isCredentialsRejection(error) && this.#accepted !== undefined) {
        await client.updateConnectionPassword(this.#accepted, false).catch(() => {});
      }
      throw error;
    }
  }

  /** Never asked for: the session only reconnects connections in `reconnect-to-reauthenticate`. */
  reconnect(): void {}

  /** While the client is being created, a refusal fails `createGlideClient` instead. */
  reportError(error: Error): void {
    if (!this.session.everReady && !(error instanceof IamUnavailableError)) throw error;
    this.#onError(error);
  }

  ended(): void {
    if (this.#client !== undefined) this.#closed = true;
  }

  #restoreClose(): void {
    this.#restore?.();
    this.#restore = undefined;
  }

  #usernameChange(credentials: RedisCredentials): UsernameChangedError | undefined {
    if (this.#username === undefined || credentials.username === this.#username) return undefined;
    return new UsernameChangedError(this.#source, this.#username, credentials.username);
  }
}
