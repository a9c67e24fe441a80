/*
 * Every node-redis behaviour the adapter relies on beyond the public API, in one place, so that a
 * node-redis upgrade that changes one of them fails `node-redis-internals.test.ts` (run on 5.12+
 * and 6.x) rather than a user's production.
 */
import * as redis from "redis";

/**
 * One node-redis connection: a `RedisClient` instance (what `createClient()` returns is a proxy
 * over it; pools, clusters and sentinels make their own). Only public getters and methods.
 */
export interface NodeRedisConnection {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly isPubSubActive: boolean;
  /** Incremented by node-redis each time a socket becomes ready (5.12+). */
  readonly socketEpoch: number;
  readonly options?: {
    readonly RESP?: 2 | 3;
    readonly socket?: {
      readonly tls?: boolean;
      readonly host?: string;
      readonly port?: number;
      readonly path?: string;
      readonly connectTimeout?: number;
    };
  };
  sendCommand(args: string[], options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: "error", error: Error): unknown;
}

/** The listener node-redis hands to a streaming credentials provider's `subscribe()`. */
export interface StreamingCredentialsListener {
  onNext(credentials: { username?: string; password?: string }): void;
  onError(error: Error): void;
}

/** The `RedisClient.prototype` of every node-redis copy seen (usually one). */
const clientPrototypes = new Set<object>();

/** Remembers the node-redis copy `client` comes from, so that its subscribers can be identified. */
export function rememberClientClass(client: object): void {
  for (
    let proto = Object.getPrototypeOf(client);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    if (Object.getOwnPropertyDescriptor(proto, "isPubSubActive")?.get !== undefined) {
      clientPrototypes.add(proto);
      return;
    }
  }
}

/**
 * The `RedisClient` class of the `redis` package this adapter loads: exported by 6.x; 5.x does not
 * export it, so a client is constructed (never connected) to read its prototype.
 */
function rememberInstalledClientClass(): void {
  const exported: unknown = (redis as { RedisClient?: unknown }).RedisClient;
  if (typeof exported === "function") {
    clientPrototypes.add(exported.prototype as object);
    return;
  }
  const client = redis.createClient({ maintNotifications: "disabled" } as object);
  rememberClientClass(client);
  try {
    client.destroy();
  } catch {
    // 5.x refuses to destroy a client that never opened; it holds nothing.
  }
}

/** Marks the error node-redis reports for the probe, so that the provider can drop it. */
export const PROBE_MARKER = "redis-credentials: subscriber probe";

class ProbeSignal extends Error {
  constructor() {
    super(PROBE_MARKER);
  }
}

/**
 * Which client is calling `subscribe()`. node-redis does not say, and pools, clusters, sentinels
 * and `duplicate()` share one provider, yet a client subscribes again on every reconnect without
 * disposing its previous subscription; the adapter must know the client to replace that one.
 *
 * The listener's `onNext` calls the client's `reAuthenticate`, whose first step reads the
 * `isPubSubActive` getter of `RedisClient.prototype` (5.x and 6.x alike). For the duration of
 * one synchronous `onNext` call, that getter records its receiver and throws, so nothing is sent;
 * node-redis reports the thrown error to `onReAuthenticationError` a tick later, marked with
 * {@link PROBE_MARKER}. Should the getter not be reached (a node-redis copy the adapter has not
 * seen), the probe credentials' own getters throw before an AUTH is built, and the client stays
 * unidentified.
 */
export function identifySubscriber(
  listener: StreamingCredentialsListener,
): NodeRedisConnection | undefined {
  if (clientPrototypes.size === 0) rememberInstalledClientClass();
  let found: NodeRedisConnection | undefined;
  const restore: (() => void)[] = [];
  for (const proto of clientPrototypes) {
    const original = Object.getOwnPropertyDescriptor(proto, "isPubSubActive");
    if (original === undefined) continue;
    Object.defineProperty(proto, "isPubSubActive", {
      configurable: true,
      get() {
        found = this as NodeRedisConnection;
        throw new ProbeSignal();
      },
    });
    restore.push(() => Object.defineProperty(proto, "isPubSubActive", original));
  }
  try {
    listener.onNext(probeCredentials);
  } catch {
    // A listener that is not node-redis's: nothing to identify.
  } finally {
    for (const undo of restore) undo();
  }
  return found;
}

const probeCredentials = Object.freeze(
  Object.defineProperties(
    {},
    {
      username: { get: throwProbe, enumerable: true },
      password: { get: throwProbe, enumerable: true },
    },
  ),
) as { username?: string; password?: string };

function throwProbe(): never {
  throw new ProbeSignal();
}

/** The RESP version a connection speaks: node-redis 6 defaults to 3, 5.x to 2. */
export function protocolOf(connection: NodeRedisConnection): 2 | 3 {
  const explicit = connection.options?.RESP;
  if (explicit === 2 || explicit === 3) return explicit;
  return (redis as { DEFAULT_RESP?: 2 | 3 }).DEFAULT_RESP ?? 2;
}

/**
 * Whether node-redis refuses to send AUTH on this connection: RESP2 in pub/sub mode (Redis allows
 * only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET there).
 */
export function cannotReauthenticate(connection: NodeRedisConnection): boolean {
  return connection.isPubSubActive && protocolOf(connection) === 2;
}

/** Socket closes the adapter caused, per client, not to be reported as errors. */
const expectedCloses = new WeakMap<NodeRedisConnection, number>();

/**
 * Makes node-redis reconnect (and resubscribe) without closing the client: Redis answers QUIT and
 * closes the socket, which node-redis treats as a lost connection. node-redis reports every lost
 * connection on the client's `error` event; this one was wanted, so its
 * `SocketClosedUnexpectedlyError` is dropped (by a wrapper of the instance's `emit`, installed
 * once per client).
 */
export function reconnect(connection: NodeRedisConnection): void {
  if (!expectedCloses.has(connection)) {
    const emit = connection.emit;
    (connection as { emit: typeof emit }).emit = function emitUnlessExpected(
      this: NodeRedisConnection,
      event: "error",
      ...args: [Error]
    ) {
      const expected = expectedCloses.get(connection) ?? 0;
      if (event === "error" && expected > 0 && isSocketClosed(args[0])) {
        expectedCloses.set(connection, expected - 1);
        return true;
      }
      return emit.call(this, event, ...args);
    };
  }
  expectedCloses.set(connection, (expectedCloses.get(connection) ?? 0) + 1);
  connection.sendCommand(["QUIT"]).catch(() => {});
}

/** The connection is ready again: a close it expected and did not see will not come. */
export function forgetExpectedCloses(connection: NodeRedisConnection): void {
  if (expectedCloses.has(connection)) expectedCloses.set(connection, 0);
}

/** `"host:port"` (or the socket path) for messages. */
export function describeTarget(connection: NodeRedisConnection): string {
  const socket = connection.options?.socket;
  if (socket?.path !== undefined) return socket.path;
  return `${socket?.host ?? "localhost"}:${socket?.port ?? 6379}`;
}

/** Whether a reconnect was caused by the socket closing (as after the adapter's QUIT). */
export function isSocketClosed(error: unknown): boolean {
  return error instanceof redis.SocketClosedUnexpectedlyError;
}

/** Whether the socket timed out (`socketTimeout`): node-redis does not reconnect by default then. */
export function isSocketTimeout(error: unknown): boolean {
  return error instanceof redis.SocketTimeoutError;
}

/** node-redis's default reconnect delay: none after a socket timeout, else 50 ms doubling to 2 s, plus up to 200 ms of jitter. */
export function defaultReconnectDelay(retries: number, cause: Error): false | number {
  if (isSocketTimeout(cause)) return false;
  return Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 200);
}

/**
 * What stopped a `connect()`: node-redis wraps the error that stopped the reconnect strategy in
 * `ReconnectStrategyError` (`originalError`), and a cluster says only that no root node was
 * available.
 */
export function connectFailure(error: unknown): { cause?: unknown; noRootNode: boolean } {
  const cause = (error as { originalError?: unknown } | undefined)?.originalError;
  const noRootNode =
    error instanceof Error && error.message === "All the root nodes are unavailable";
  return cause === undefined ? { noRootNode } : { cause, noRootNode };
}

export type TransactionCommand = "MULTI" | "EXEC" | "DISCARD";

/**
 * Calls `onCommand` for every MULTI, EXEC and DISCARD sent by hand (`sendCommand(['MULTI'])`) on
 * `client` and its `duplicate()` copies, with the connection it goes to and its reply. Patched
 * on the instance, not the proxy `createClient` returns: views such as `withCommandOptions()` and
 * `withTypeMapping()` are other proxies of the same instance (`_self`).
 */
export function watchTransactionCommands(
  client: object,
  onCommand: (connection: object, command: TransactionCommand, reply: Promise<unknown>) => void,
  onDuplicate: (copy: object) => void,
): void {
  const instance = ((client as { _self?: object })._self ?? client) as {
    sendCommand: (args: unknown, ...rest: unknown[]) => Promise<unknown>;
    duplicate: (...args: unknown[]) => object;
  };
  const { sendCommand, duplicate } = instance;
  instance.sendCommand = function sendCommandWatched(args, ...rest) {
    const reply = sendCommand.call(this, args, ...rest);
    const name = Array.isArray(args) && typeof args[0] === "string" ? args[0].toUpperCase() : "";
    if (name === "MULTI" || name === "EXEC" || name === "DISCARD") onCommand(instance, name, reply);
    return reply;
  };
  instance.duplicate = function duplicateWatched(...args) {
    const copy = duplicate.apply(this, args);
    watchTransactionCommands(copy, onCommand, onDuplicate);
    onDuplicate(copy);
    return copy;
  };
}

/** Clients already listened to, per set of handlers' owner: once each, for the client's life. */
const listened = new WeakMap<object, WeakSet<NodeRedisConnection>>();

/**
 * Adds `handlers` to `client`'s events once (per `handlers` owner), never to be removed: removing
 * a listener from a node-redis client can drop the user's own listeners. node-redis clients are
 * proxies created with `Object.create(instance)`; a listener added through the proxy counts on
 * the proxy, and Node's EventEmitter resets the instance's listener table when the instance's own
 * count drops to zero.
 */
export function listenForLife(
  client: NodeRedisConnection,
  handlers: Record<string, () => void>,
  owner: object,
): void {
  const clients = listened.get(owner) ?? new WeakSet<NodeRedisConnection>();
  listened.set(owner, clients);
  if (clients.has(client)) return;
  clients.add(client);
  for (const [event, handler] of Object.entries(handlers)) client.on(event, handler);
}
