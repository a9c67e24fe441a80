import {
  CredentialsError,
  CredentialsExpiredError,
  InsecureTransportError,
  InvalidOptionsError,
  isPermanent,
  ManagerDisposedError,
  type RedisCredentials,
  type TokenManager,
} from "@redis-credentials/core";
import { ClientConnection } from "./client-connection";
import {
  describeTarget,
  identifySubscriber,
  type NodeRedisConnection,
  PROBE_MARKER,
  rememberClientClass,
  type StreamingCredentialsListener,
} from "./node-redis-internals";

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

/** What `credentialsProvider()` returns: node-redis's streaming credentials provider, plus status. */
export interface TokenCredentialsProvider {
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

export interface CredentialsProviderStatus {
  /** Connections kept authenticated (connecting or connected). */
  readonly connections: number;
  /**
   * Of those, connections whose client could not be identified (a node-redis copy the adapter
   * has not seen): they are re-authenticated through node-redis, one subscription per connect.
   */
  readonly unidentified: number;
  /** When a re-AUTH last succeeded (epoch ms). */
  readonly lastReauthAt?: number;
  /** Handshakes and re-AUTHs that Redis refused. */
  readonly reauthFailures: number;
}

/** Where the factories' clients report errors: the client, pool, cluster or sentinel they return. */
export interface ErrorTarget {
  emit(event: "error", error: Error): unknown;
}

/**
 * A node-redis `credentialsProvider` backed by `manager`: every connect and reconnect of every
 * client using it authenticates with the manager's current credentials, and each connection
 * subscribes to the manager once, so that new credentials reach it by AUTH (staggered by the
 * manager) before the old token expires. Share one provider, or one manager, across clients.
 *
 * ```ts
 * const client = createClient({ socket: { host, port: 10000, tls: true },
 *   credentialsProvider: credentialsProvider(manager) });
 * ```
 *
 * The `createClient`/`createClientPool`/`createCluster`/`createSentinel` factories add what a
 * bare provider cannot: refused credentials on the client's `error` event, a connect that fails
 * for good when the first fetch does, and AUTH held back during a `sendCommand(['MULTI'])`
 * transaction.
 */
export function credentialsProvider(
  manager: TokenManager,
  options: CredentialsProviderOptions = {},
): TokenCredentialsProvider {
  if (typeof manager?.subscribe !== "function" || typeof manager.peekCredentials !== "function") {
    throw new InvalidOptionsError("manager", "must be a token manager from createTokenManager().");
  }
  if (manager.status().state === "disposed") {
    throw new ManagerDisposedError("create a credentials provider");
  }
  return new ManagedCredentialsProvider(manager, options);
}

/** Errors after which a connect must not be retried: the factories' reconnect strategy stops. */
const fatalErrors = new WeakSet<object>();

export function isFatal(error: unknown): boolean {
  return typeof error === "object" && error !== null && fatalErrors.has(error);
}

export class ManagedCredentialsProvider implements TokenCredentialsProvider {
  readonly type = "streaming-credentials-provider" as const;
  readonly manager: TokenManager;
  readonly allowInsecureTransport: boolean;
  lastReauthAt: number | undefined;
  reauthFailures = 0;
  /** Set by the factories; without it, errors go to `onReAuthenticationError`. */
  errorTarget: ErrorTarget | undefined;
  /** Report a connection's errors on that connection (clients and pool members forward them). */
  errorsOnConnection = false;
  readonly #connections = new Map<NodeRedisConnection, ClientConnection>();
  readonly #unidentified = new Set<ClientConnection>();
  /** Clients whose events this provider listens to: once each, for the client's whole life. */
  readonly #listening = new WeakSet<NodeRedisConnection>();
  #onError: (error: Error) => void;
  readonly #stop = new AbortController();
  /** The last error that ended a connect for good, for the factories' `connect()`. */
  #lastFatal: Error | undefined;

  constructor(manager: TokenManager, options: CredentialsProviderOptions) {
    this.manager = manager;
    this.allowInsecureTransport = options.allowInsecureTransport === true;
    this.#onError = options.onReAuthenticationError ?? (() => {});
  }

  // node-redis reports the identification probe here, a tick after subscribe(): drop it.
  get onReAuthenticationError(): (error: Error) => void {
    return (error) => {
      if (error instanceof Error && error.message.includes(PROBE_MARKER)) return;
      this.#onError(error);
    };
  }

  set onReAuthenticationError(handler: (error: Error) => void) {
    if (typeof handler !== "function") {
      throw new InvalidOptionsError("onReAuthenticationError", "must be a function.");
    }
    this.#onError = handler;
  }

  get disposed(): boolean {
    return this.#stop.signal.aborted;
  }

  async subscribe(
    listener: StreamingCredentialsListener,
  ): Promise<[{ username: string; password: string }, { dispose(): void }]> {
    if (typeof listener?.onNext !== "function") {
      throw new InvalidOptionsError(
        "listener",
        "must be node-redis's { onNext, onError } listener.",
      );
    }
    const client = identifySubscriber(listener);
    if (this.disposed) {
      throw this.#fatal(
        new CredentialsError(
          "This credentials provider was disposed: create a new one with credentialsProvider(manager).",
        ),
      );
    }
    if (this.manager.status().state === "disposed") {
      throw this.#fatal(new ManagerDisposedError("connect a node-redis client"));
    }
    if (
      client !== undefined &&
      client.options?.socket?.tls !== true &&
      !this.allowInsecureTransport
    ) {
      throw this.#fatal(new InsecureTransportError(describeTarget(client)));
    }
    const connection = this.#connectionFor(client);
    const generation = connection.attach(listener);
    try {
      const credentials = await this.#credentialsForHandshake(connection);
      connection.handshake = credentials;
      const { username, password } = credentials;
      return [{ username, password }, { dispose: () => connection.release(generation) }];
    } catch (error) {
      connection.release(generation);
      throw error;
    }
  }

  status(): CredentialsProviderStatus {
    return {
      connections: this.#connections.size + this.#unidentified.size,
      unidentified: this.#unidentified.size,
      ...(this.lastReauthAt !== undefined && { lastReauthAt: this.lastReauthAt }),
      reauthFailures: this.reauthFailures,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.#stop.abort();
    for (const connection of [...this.#connections.values(), ...this.#unidentified]) {
      connection.end();
    }
  }

  /** The manager's valid credentials, or undefined (also once the manager is disposed). */
  current(): RedisCredentials | undefined {
    if (this.manager.status().state === "disposed") return undefined;
    return this.manager.peekCredentials();
  }

  /** The live connection of `client` (the instance, not a proxy), if it has subscribed. */
  connectionOf(client: object): ClientConnection | undefined {
    return this.#connections.get(client as NodeRedisConnection);
  }

  forget(connection: ClientConnection): void {
    if (connection.client === undefined) this.#unidentified.delete(connection);
    else if (this.#connections.get(connection.client) === connection) {
      this.#connections.delete(connection.client);
    }
  }

  /** Hands `error` to the user: the factory's client (or `connection`), or `onReAuthenticationError`. */
  report(error: Error, connection?: ClientConnection): void {
    if (this.errorsOnConnection && connection?.client !== undefined) {
      connection.client.emit("error", error);
    } else if (this.errorTarget !== undefined) {
      this.errorTarget.emit("error", error);
    } else {
      this.#onError(error);
    }
  }

  /**
   * For the factories' reconnect strategy, which is not told whose handshake Redis refused with
   * WRONGPASS/NOAUTH: every connection whose handshake is in flight takes it as its own; one that
   * was not refused clears it when it becomes ready.
   */
  handshakeRejected(cause: unknown): void {
    for (const connection of this.#connections.values()) connection.handshakeRefused(cause);
  }

  /**
   * What a factory's `connect()` rejects with: node-redis wraps the error that stopped the
   * reconnect strategy in `ReconnectStrategyError`, and a cluster reports only that no root node
   * was available; the typed error behind either is the one the user can act on.
   */
  connectError(error: unknown): unknown {
    const original = (error as { originalError?: unknown } | undefined)?.originalError;
    if (isFatal(original)) return original;
    if (error instanceof Error && error.message === "All the root nodes are unavailable") {
      return this.#lastFatal ?? error;
    }
    return error;
  }

  #fatal<E extends Error>(error: E): E {
    fatalErrors.add(error);
    this.#lastFatal = error;
    return error;
  }

  #connectionFor(client: NodeRedisConnection | undefined): ClientConnection {
    if (client === undefined) {
      const connection = new ClientConnection(this, undefined);
      this.#unidentified.add(connection);
      return connection;
    }
    rememberClientClass(client);
    this.#listenTo(client);
    let connection = this.#connections.get(client);
    if (connection === undefined) {
      connection = new ClientConnection(this, client);
      this.#connections.set(client, connection);
    }
    return connection;
  }

  /**
   * The listeners (`ready`, `reconnecting`, `end`) stay for the client's life and are never removed: removing a listener from a
   * node-redis client can drop the user's own listeners. node-redis clients are proxies created
   * with `Object.create(instance)`; a listener added through the proxy counts on the proxy, and
   * Node's EventEmitter resets the instance's listener table when the instance's own count
   * drops to zero.
   */
  #listenTo(client: NodeRedisConnection): void {
    if (this.#listening.has(client)) return;
    this.#listening.add(client);
    client.on("ready", () => this.#connections.get(client)?.onReady());
    client.on("reconnecting", () => this.#connections.get(client)?.dropUnsentAuths());
    // node-redis 5's close() does not dispose the subscription when no command is pending: a
    // client closed for good ends its connection here.
    client.on("end", () => {
      if (!client.isOpen) this.#connections.get(client)?.end();
    });
  }

  async #credentialsForHandshake(connection: ClientConnection): Promise<RedisCredentials> {
    const outcome = await connection.afterRefusedHandshake();
    if (outcome?.error && !connection.everReady) throw this.#fatal(outcome.error);
    if (outcome !== undefined && outcome.credentials.expiresAt > Date.now()) {
      return outcome.credentials;
    }
    const current = this.current();
    if (current !== undefined && current.expiresAt > Date.now()) return current;
    return this.#waitForCredentials(connection);
  }

  async #waitForCredentials(connection: ClientConnection): Promise<RedisCredentials> {
    const timeoutMs = connection.client?.options?.socket?.connectTimeout ?? 5_000;
    const signal = AbortSignal.any([
      connection.signal,
      this.#stop.signal,
      AbortSignal.timeout(timeoutMs),
    ]);
    const firstConnect = !connection.everReady;
    try {
      return await this.manager.getCredentials({ signal });
    } catch (error) {
      if (error instanceof ManagerDisposedError) throw this.#fatal(error);
      if (error instanceof CredentialsError) {
        // A failed first fetch fails the connect; a reconnect keeps trying until the source recovers.
        if (firstConnect || isPermanent(error)) this.#fatal(error);
        throw error;
      }
      const lastError = this.manager.status().lastError;
      const target = connection.client ? describeTarget(connection.client) : "Redis";
      const expired = new CredentialsExpiredError(
        `No valid credentials to connect to ${target} within connectTimeout (${timeoutMs} ms): ` +
          `source "${this.manager.name}" has not produced new ones${lastError ? ` (${lastError.message})` : ""}.` +
          (firstConnect
            ? ""
            : " The client keeps retrying and reconnects by itself when the source recovers."),
        { cause: lastError ?? error },
      );
      throw firstConnect ? this.#fatal(expired) : expired;
    }
  }
}
