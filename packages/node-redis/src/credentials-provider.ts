import {
  assertKnownOptions,
  assertTokenManager,
  CredentialsError,
  InsecureTransportError,
  InvalidOptionsError,
  likelyMeant,
  ManagerDisposedError,
  SessionGroup,
  type TokenManager,
} from "@redis-credentials/core";
import { assertAllowInsecureTransport } from "./assert-allow-insecure-transport";
import { ClientConnection, type ConnectionOwner } from "./client-connection";
import type { CredentialsProviderOptions } from "./credentials-provider-options";
import type { CredentialsProviderStatus } from "./credentials-provider-status";
import {
  connectFailure,
  describeTarget,
  forgetExpectedCloses,
  identifySubscriber,
  listenForLife,
  type NodeRedisConnection,
  PROBE_MARKER,
  rememberClientClass,
  type StreamingCredentialsListener,
} from "./node-redis-internals";
import type { TokenCredentialsProvider } from "./token-credentials-provider";

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
  assertProviderOptions(options);
  return new NodeRedisProvider(manager, options);
}

/** The options `credentialsProvider` reads; anything else in them is a mistake. */
const providerOptionNames = ["allowInsecureTransport", "onReAuthenticationError"] as const;

function assertProviderOptions(options: unknown): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      "options",
      "must be an object: { allowInsecureTransport?, onReAuthenticationError? }.",
    );
  }
  assertKnownOptions(options, providerOptionNames, {
    onError: "did you mean `onReAuthenticationError`?",
    tls: "TLS is the client's option (`socket: { tls: true }`), not the provider's.",
    ...likelyMeant(options, providerOptionNames),
  });
  const { allowInsecureTransport, onReAuthenticationError } = options as CredentialsProviderOptions;
  assertAllowInsecureTransport(allowInsecureTransport, "options.allowInsecureTransport");
  if (onReAuthenticationError !== undefined && typeof onReAuthenticationError !== "function") {
    throw new InvalidOptionsError(
      "onReAuthenticationError",
      `must be a function (error) => void, not ${typeof onReAuthenticationError}.`,
    );
  }
}

/** Errors after which a connect must not be retried: the factories' reconnect strategy stops. */
const fatalErrors = new WeakSet<object>();

export function isFatal(error: unknown): boolean {
  return typeof error === "object" && error !== null && fatalErrors.has(error);
}

/** Where the factories' clients report errors: the client, pool, cluster or sentinel they return. */
export interface ErrorTarget {
  emit(event: "error", error: Error): unknown;
}

export class NodeRedisProvider implements TokenCredentialsProvider, ConnectionOwner {
  readonly type = "streaming-credentials-provider" as const;
  readonly group: SessionGroup;
  /** Set by the factories; without it, errors go to `onReAuthenticationError`. */
  errorTarget: ErrorTarget | undefined;
  /** Report a connection's errors on that connection (clients and pool members forward them). */
  errorsOnConnection = false;
  readonly #connections = new Map<NodeRedisConnection, ClientConnection>();
  readonly #unidentified = new Set<ClientConnection>();
  #onError: (error: Error) => void;
  /** The last error that ended a connect for good, for the factories' `connect()`. */
  #lastFatal: Error | undefined;

  constructor(manager: TokenManager, options: CredentialsProviderOptions) {
    assertTokenManager(manager, "create a credentials provider");
    this.group = new SessionGroup(manager, options);
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
    if (this.group.disposed) {
      throw this.fatal(
        new CredentialsError(
          "This credentials provider was disposed: create a new one with credentialsProvider(manager).",
        ),
      );
    }
    if (this.group.managerDisposed) {
      throw this.fatal(new ManagerDisposedError("connect a node-redis client"));
    }
    const tls = client === undefined || client.options?.socket?.tls === true;
    if (!tls && !this.group.allowInsecureTransport) {
      throw this.fatal(new InsecureTransportError(describeTarget(client!)));
    }
    const connection = this.#connectionFor(client);
    const generation = connection.attach(listener);
    try {
      const { username, password } = await connection.session.handshakeCredentials();
      return [{ username, password }, { dispose: () => connection.release(generation) }];
    } catch (error) {
      const forGood = connection.session.failsForGood(error);
      // A reconnect that found no valid credentials (an outage past expiry) keeps its session:
      // node-redis retries, and only a session that remembers being ready lets it (a failed
      // first connect is final). A client closed meanwhile ends the session on its `end` event.
      if (forGood || !connection.session.everReady) connection.release(generation);
      if (forGood) this.fatal(error as Error);
      throw error;
    }
  }

  status(): CredentialsProviderStatus {
    return { ...this.group.status(), unidentified: this.#unidentified.size };
  }

  dispose(): void {
    this.group.dispose();
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
  report(error: Error, connection: ClientConnection): void {
    const target = this.errorsOnConnection
      ? (connection.client ?? this.errorTarget)
      : this.errorTarget;
    if (target !== undefined) target.emit("error", error);
    else this.#onError(error);
  }

  /**
   * For the factories' reconnect strategy, which is not told whose handshake Redis refused with
   * WRONGPASS/NOAUTH: every connection whose handshake is in flight takes it as its own.
   */
  handshakeRejected(cause: unknown): void {
    for (const connection of this.#connections.values()) connection.session.handshakeRefused(cause);
  }

  /** What a factory's `connect()` rejects with: the typed error behind node-redis's wrapper. */
  connectError(error: unknown): unknown {
    const failure = connectFailure(error);
    if (isFatal(failure.cause)) return failure.cause;
    return failure.noRootNode ? (this.#lastFatal ?? error) : error;
  }

  fatal<E extends Error>(error: E): E {
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

  #listenTo(client: NodeRedisConnection): void {
    listenForLife(
      client,
      {
        ready: () => {
          forgetExpectedCloses(client);
          this.#connections.get(client)?.session.ready();
        },
        reconnecting: () => this.#connections.get(client)?.dropUnsentAuths(),
        // node-redis 5's close() does not dispose the subscription when no command is pending: a
        // client closed for good ends its connection here.
        end: () => {
          if (!client.isOpen) this.#connections.get(client)?.session.end();
        },
      },
      this,
    );
  }
}
