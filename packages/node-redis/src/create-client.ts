import {
  InsecureTransportError,
  InvalidOptionsError,
  isCredentialsRejection,
  type TokenManager,
} from "@redis-credentials/core";
import type {
  RedisClientOptions,
  RedisClientPoolType,
  RedisClientType,
  RedisClusterOptions,
  RedisClusterType,
  RedisFunctions,
  RedisModules,
  RedisPoolOptions,
  RedisScripts,
  RedisSentinelOptions,
  RedisSentinelType,
  RespVersions,
  TypeMapping,
} from "redis";
import * as redis from "redis";
import {
  credentialsProvider,
  type ErrorTarget,
  isFatal,
  type ManagedCredentialsProvider,
} from "./credentials-provider";
import { isSocketTimeout, rememberClientClass } from "./node-redis-internals";

/** node-redis's default for modules, functions, scripts and type mappings: none (`{}`). */
type NoExtras = Record<never, never>;

/** What the factories add to node-redis's own options. */
export interface AdapterOptions {
  /**
   * Send credentials over connections without TLS. Tokens are bearer secrets: only for a local
   * test server.
   * @default false
   */
  allowInsecureTransport?: boolean;
}

export type CreateClientOptions<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
> = RedisClientOptions<M, F, S, RESP, TYPE_MAPPING> & AdapterOptions;

export type CreateClusterOptions<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
> = RedisClusterOptions<M, F, S, RESP, TYPE_MAPPING> & AdapterOptions;

export type CreateSentinelOptions<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
> = RedisSentinelOptions<M, F, S, RESP, TYPE_MAPPING> & AdapterOptions;

/**
 * node-redis's `createClient`, with credentials from `manager`: every connect and reconnect uses
 * the current ones, and new ones reach the connection by AUTH before the old token expires.
 * `connect()` rejects with the typed error when the first fetch fails or Redis refuses fresh
 * credentials; later refusals reach the client's `error` event as `CredentialsRejectedError`.
 * `duplicate()` copies share the manager.
 */
export function createClient<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: CreateClientOptions<M, F, S, RESP, TYPE_MAPPING> = {},
): RedisClientType<M, F, S, RESP, TYPE_MAPPING> {
  const { allowInsecureTransport = false, ...clientOptions } = options;
  assertNoCredentials(clientOptions, "options");
  if (!allowInsecureTransport && !usesTls(clientOptions)) {
    throw new InsecureTransportError(describeOptions(clientOptions));
  }
  const provider = managedProvider(manager, allowInsecureTransport);
  const client = redis.createClient({
    ...clientOptions,
    credentialsProvider: provider,
    socket: withReconnectStrategy(clientOptions.socket, provider),
  } as RedisClientOptions<M, F, S, RESP, TYPE_MAPPING>);
  rememberClientClass(client);
  provider.errorTarget = client as unknown as ErrorTarget;
  provider.errorsOnConnection = true;
  gateHandWrittenTransactions(client, provider);
  rejectConnectWithTypedErrors(client, provider);
  return client;
}

/**
 * node-redis's `createClientPool`, with every pooled connection kept authenticated by `manager`
 * (one manager subscription per connection, so the manager staggers their AUTHs). Refused
 * credentials reach the pool's `error` event.
 */
export function createClientPool<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: Omit<CreateClientOptions<M, F, S, RESP, TYPE_MAPPING>, "clientSideCache"> = {},
  poolOptions?: Partial<RedisPoolOptions>,
): RedisClientPoolType<M, F, S, RESP, TYPE_MAPPING> {
  const { allowInsecureTransport = false, ...clientOptions } = options;
  assertNoCredentials(clientOptions, "options");
  if (!allowInsecureTransport && !usesTls(clientOptions)) {
    throw new InsecureTransportError(describeOptions(clientOptions));
  }
  const provider = managedProvider(manager, allowInsecureTransport);
  const pool = redis.createClientPool(
    {
      ...clientOptions,
      credentialsProvider: provider,
      socket: withReconnectStrategy(clientOptions.socket, provider),
    } as Omit<RedisClientOptions<M, F, S, RESP, TYPE_MAPPING>, "clientSideCache">,
    poolOptions,
  );
  // Pool members forward their `error` events to the pool.
  provider.errorTarget = pool as unknown as ErrorTarget;
  provider.errorsOnConnection = true;
  rejectConnectWithTypedErrors(pool, provider);
  return pool;
}

/**
 * node-redis's `createCluster`, with every node connection (including nodes discovered later,
 * after failovers, and the pub/sub connections) kept authenticated by `manager`. The adapter sets
 * `defaults.credentialsProvider`. Refused credentials reach the cluster's `error` event.
 */
export function createCluster<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: CreateClusterOptions<M, F, S, RESP, TYPE_MAPPING>,
): RedisClusterType<M, F, S, RESP, TYPE_MAPPING> {
  if (typeof options !== "object" || options === null || !Array.isArray(options.rootNodes)) {
    throw new InvalidOptionsError("options.rootNodes", "must list at least one cluster node.");
  }
  const { allowInsecureTransport = false, ...clusterOptions } = options;
  const defaults = clusterOptions.defaults ?? {};
  assertNoCredentials(defaults, "options.defaults");
  clusterOptions.rootNodes.forEach((node, index) => {
    assertNoCredentials(node, `options.rootNodes[${index}]`);
  });
  const provider = managedProvider(manager, allowInsecureTransport);
  const cluster = redis.createCluster({
    ...clusterOptions,
    defaults: {
      ...defaults,
      credentialsProvider: provider,
      socket: withReconnectStrategy(defaults.socket, provider),
    },
  } as RedisClusterOptions<M, F, S, RESP, TYPE_MAPPING>);
  provider.errorTarget = cluster as unknown as ErrorTarget;
  rejectConnectWithTypedErrors(cluster, provider);
  return cluster;
}

/**
 * node-redis's `createSentinel`, with the master and replica connections it opens kept
 * authenticated by `manager` (the adapter sets `nodeClientOptions.credentialsProvider`; the
 * connections to the sentinels themselves use `sentinelClientOptions` as given). Refused
 * credentials reach the sentinel's `error` event.
 */
export function createSentinel<
  M extends RedisModules = NoExtras,
  F extends RedisFunctions = NoExtras,
  S extends RedisScripts = NoExtras,
  RESP extends RespVersions = 3,
  TYPE_MAPPING extends TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: CreateSentinelOptions<M, F, S, RESP, TYPE_MAPPING>,
): RedisSentinelType<M, F, S, RESP, TYPE_MAPPING> {
  if (typeof options !== "object" || options === null || typeof options.name !== "string") {
    throw new InvalidOptionsError(
      "options.name",
      "must be the name of the master sentinel monitors.",
    );
  }
  const { allowInsecureTransport = false, ...sentinelOptions } = options;
  const nodeOptions = sentinelOptions.nodeClientOptions ?? {};
  assertNoCredentials(nodeOptions, "options.nodeClientOptions");
  // Refused here, like createClient does: node-redis's sentinel would retry the connect 16 times.
  if (!allowInsecureTransport && !usesTls(nodeOptions)) {
    throw new InsecureTransportError(`the nodes of sentinel master "${options.name}"`);
  }
  const provider = managedProvider(manager, allowInsecureTransport);
  const sentinel = redis.createSentinel({
    ...sentinelOptions,
    nodeClientOptions: {
      ...nodeOptions,
      credentialsProvider: provider,
      socket: withReconnectStrategy(nodeOptions.socket, provider),
    },
  } as RedisSentinelOptions<M, F, S, RESP, TYPE_MAPPING>);
  provider.errorTarget = sentinel as unknown as ErrorTarget;
  rejectConnectWithTypedErrors(sentinel, provider);
  fetchBeforeConnect(sentinel, manager);
  return sentinel;
}

/**
 * node-redis's sentinel retries a failed connect 16 times, a second apart, before `connect()`
 * rejects: a first fetch that fails would keep the caller waiting that long. Fetch first, fail at once.
 */
function fetchBeforeConnect(client: object, manager: TokenManager): void {
  const target = client as { connect: (...args: unknown[]) => Promise<unknown> };
  const connect = target.connect;
  target.connect = async function connectAfterFetch(this: unknown, ...args) {
    await manager.getCredentials();
    return connect.apply(this, args);
  };
}

function managedProvider(
  manager: TokenManager,
  allowInsecureTransport: boolean,
): ManagedCredentialsProvider {
  return credentialsProvider(manager, { allowInsecureTransport }) as ManagedCredentialsProvider;
}

type ReconnectStrategy =
  | false
  | number
  | ((retries: number, cause: Error) => false | Error | number);
type SocketOptions = { reconnectStrategy?: ReconnectStrategy; [option: string]: unknown };

/**
 * The caller's reconnect strategy, except where credentials decide: stop when the first fetch
 * failed (the connect rejects with the typed error instead of retrying forever); retry at once
 * after a refused handshake (the connection paces it: forced refresh, then backoff).
 */
function withReconnectStrategy(socket: unknown, provider: ManagedCredentialsProvider): any {
  const options = (socket ?? {}) as SocketOptions;
  const original = options.reconnectStrategy;
  const reconnectStrategy = (retries: number, cause: Error): false | Error | number => {
    if (isFatal(cause)) return cause;
    if (original === false) return false;
    if (isCredentialsRejection(cause)) {
      provider.handshakeRejected(cause);
      return 0;
    }
    if (typeof original === "number") return original;
    if (typeof original === "function") return original(retries, cause);
    return defaultReconnectDelay(retries, cause);
  };
  return { ...options, reconnectStrategy };
}

/** node-redis's default: no reconnect after a socket timeout, else 50 ms doubling to 2 s, plus up to 200 ms of jitter. */
function defaultReconnectDelay(retries: number, cause: Error): false | number {
  if (isSocketTimeout(cause)) return false;
  return Math.min(2 ** retries * 50, 2_000) + Math.floor(Math.random() * 200);
}

/** `connect()` rejects with the adapter's typed error rather than node-redis's wrapper of it. */
function rejectConnectWithTypedErrors(client: object, provider: ManagedCredentialsProvider): void {
  const target = client as { connect: (...args: unknown[]) => Promise<unknown> };
  const connect = target.connect;
  target.connect = function connectWithTypedErrors(this: unknown, ...args) {
    return connect.apply(this, args).catch((error: unknown) => {
      throw provider.connectError(error);
    });
  };
}

/**
 * A `MULTI` sent by hand is followed by commands the server queues until EXEC or DISCARD; an
 * AUTH among them would run inside the transaction, so the connection holds it until then.
 * (`client.multi()...exec()` is written as one chain and needs no gate.)
 */
function gateHandWrittenTransactions(client: object, provider: ManagedCredentialsProvider): void {
  // On the instance, not the proxy createClient returns: views such as withCommandOptions() and
  // withTypeMapping() are other proxies of the same instance.
  const instance = ((client as { _self?: object })._self ?? client) as {
    sendCommand: (args: unknown, ...rest: unknown[]) => Promise<unknown>;
    duplicate: (...args: unknown[]) => object;
  };
  const sendCommand = instance.sendCommand;
  const duplicate = instance.duplicate;
  instance.sendCommand = function sendCommandGated(args, ...rest) {
    const reply = sendCommand.call(this, args, ...rest);
    const name = Array.isArray(args) ? args[0] : undefined;
    if (typeof name === "string" && transactionCommand.test(name)) {
      const connection = provider.connectionOf(instance);
      if (name.toUpperCase() === "MULTI") connection?.beginTransaction(reply);
      else connection?.endTransaction();
    }
    return reply;
  };
  instance.duplicate = function duplicateGated(...args) {
    const copy = duplicate.apply(this, args);
    gateHandWrittenTransactions(copy, provider);
    return copy;
  };
}

const transactionCommand = /^(multi|exec|discard)$/i;

/** The adapter supplies credentials: ones in the options would be ignored or, in a URL, win. */
function assertNoCredentials(options: object, name: string): void {
  const { credentialsProvider, username, password, url } = options as Record<string, unknown>;
  if (credentialsProvider !== undefined || username !== undefined || password !== undefined) {
    throw new InvalidOptionsError(
      name,
      "must not set credentialsProvider, username or password: the token manager supplies credentials.",
    );
  }
  if (typeof url === "string" && /^[a-z]+:\/\/[^/]*@/i.test(url)) {
    throw new InvalidOptionsError(
      `${name}.url`,
      "must not contain a user name or password: the token manager supplies credentials.",
    );
  }
}

function usesTls(options: { url?: string; socket?: unknown }): boolean {
  if (typeof options.url === "string") return options.url.toLowerCase().startsWith("rediss:");
  return (options.socket as { tls?: unknown } | undefined)?.tls === true;
}

function describeOptions(options: { url?: string; socket?: unknown }): string {
  if (typeof options.url === "string") return options.url;
  const socket = options.socket as { host?: string; port?: number; path?: string } | undefined;
  if (socket?.path !== undefined) return socket.path;
  return `${socket?.host ?? "localhost"}:${socket?.port ?? 6379}`;
}
