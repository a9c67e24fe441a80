import {
  assertNoCredentialOptions,
  assertNoMisspeltOptions,
  InsecureTransportError,
  InvalidOptionsError,
  isHandshakeRefusal,
  type TokenManager,
} from "@redis-credentials/core";
import * as redis from "redis";
import { assertAllowInsecureTransport } from "./assert-allow-insecure-transport";
import { rememberBinding } from "./binding-of";
import { connectRetryingRefusals } from "./cluster-refusals";
import { type ErrorTarget, isFatal, NodeRedisProvider } from "./credentials-provider";
import type {
  CreateClientOptions,
  CreateClusterOptions,
  CreateSentinelOptions,
  NoExtras,
} from "./factory-options";
import {
  defaultReconnectDelay,
  rememberClientClass,
  watchTransactionCommands,
} from "./node-redis-internals";

/** The adapter's own keys in the options it shares with node-redis (`AdapterOptions`). */
const adapterOptionNames = ["allowInsecureTransport"];

/**
 * node-redis's `createClient`, with credentials from `manager`: every connect and reconnect uses
 * the current ones, and new ones reach the connection by AUTH before the old token expires.
 * `connect()` rejects with the typed error when the first fetch fails or Redis refuses fresh
 * credentials; later refusals reach the client's `error` event as `CredentialsRejectedError`.
 * `duplicate()` copies share the manager.
 */
export function createClient<
  M extends redis.RedisModules = NoExtras,
  F extends redis.RedisFunctions = NoExtras,
  S extends redis.RedisScripts = NoExtras,
  RESP extends redis.RespVersions = 3,
  TYPE_MAPPING extends redis.TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: CreateClientOptions<M, F, S, RESP, TYPE_MAPPING> = {},
): redis.RedisClientType<M, F, S, RESP, TYPE_MAPPING> {
  const { provider, nodeOptions } = withProvider(manager, options, "options", describeOptions);
  const client = redis.createClient(
    nodeOptions as redis.RedisClientOptions<M, F, S, RESP, TYPE_MAPPING>,
  );
  rememberClientClass(client);
  // A MULTI sent by hand: the server queues what follows until EXEC/DISCARD, AUTH included.
  // (`client.multi()...exec()` is written as one chain and needs no gate.)
  watchTransactionCommands(
    client,
    (connection, command, reply) => {
      const session = provider.connectionOf(connection)?.session;
      if (command !== "MULTI") return session?.transactionEnded();
      if (session?.transactionStarted()) reply.catch(() => session.transactionEnded());
    },
    (copy) => rememberBinding(copy, provider),
  );
  return bound(client, provider, true);
}

/**
 * node-redis's `createClientPool`, with every pooled connection kept authenticated by `manager`
 * (one manager subscription per connection, so the manager staggers their AUTHs). Refused
 * credentials reach the pool's `error` event.
 */
export function createClientPool<
  M extends redis.RedisModules = NoExtras,
  F extends redis.RedisFunctions = NoExtras,
  S extends redis.RedisScripts = NoExtras,
  RESP extends redis.RespVersions = 3,
  TYPE_MAPPING extends redis.TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: Omit<CreateClientOptions<M, F, S, RESP, TYPE_MAPPING>, "clientSideCache"> = {},
  poolOptions?: Partial<redis.RedisPoolOptions>,
): redis.RedisClientPoolType<M, F, S, RESP, TYPE_MAPPING> {
  const { provider, nodeOptions } = withProvider(manager, options, "options", describeOptions);
  type Options = Omit<redis.RedisClientOptions<M, F, S, RESP, TYPE_MAPPING>, "clientSideCache">;
  // Pool members forward their `error` events to the pool.
  return bound(redis.createClientPool(nodeOptions as Options, poolOptions), provider, true);
}

/**
 * node-redis's `createCluster`, with every node connection (including nodes discovered later,
 * after failovers, and the pub/sub connections) kept authenticated by `manager`. The adapter sets
 * `defaults.credentialsProvider`. Refused credentials reach the cluster's `error` event.
 */
export function createCluster<
  M extends redis.RedisModules = NoExtras,
  F extends redis.RedisFunctions = NoExtras,
  S extends redis.RedisScripts = NoExtras,
  RESP extends redis.RespVersions = 3,
  TYPE_MAPPING extends redis.TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: CreateClusterOptions<M, F, S, RESP, TYPE_MAPPING>,
): redis.RedisClusterType<M, F, S, RESP, TYPE_MAPPING> {
  if (typeof options !== "object" || options === null || !Array.isArray(options.rootNodes)) {
    throw new InvalidOptionsError("options.rootNodes", "must list at least one cluster node.");
  }
  assertNoMisspeltOptions(options, adapterOptionNames, "options", "node-redis");
  assertAllowInsecureTransport(options.allowInsecureTransport, "options.allowInsecureTransport");
  const { allowInsecureTransport, ...clusterOptions } = options;
  clusterOptions.rootNodes.forEach((node, index) => {
    assertNoCredentials(node, `options.rootNodes[${index}]`);
  });
  const defaults = { ...clusterOptions.defaults, allowInsecureTransport };
  const { provider, nodeOptions } = withProvider(manager, defaults, "options.defaults");
  const cluster = redis.createCluster({
    ...clusterOptions,
    defaults: nodeOptions,
  } as redis.RedisClusterOptions<M, F, S, RESP, TYPE_MAPPING>);
  return bound(cluster, provider, false, undefined, (connect) =>
    connectRetryingRefusals(cluster, manager, connect),
  );
}

/**
 * node-redis's `createSentinel`, with the master and replica connections it opens kept
 * authenticated by `manager` (the adapter sets `nodeClientOptions.credentialsProvider`; the
 * connections to the sentinels themselves use `sentinelClientOptions` as given). Refused
 * credentials reach the sentinel's `error` event.
 */
export function createSentinel<
  M extends redis.RedisModules = NoExtras,
  F extends redis.RedisFunctions = NoExtras,
  S extends redis.RedisScripts = NoExtras,
  RESP extends redis.RespVersions = 3,
  TYPE_MAPPING extends redis.TypeMapping = NoExtras,
>(
  manager: TokenManager,
  options: CreateSentinelOptions<M, F, S, RESP, TYPE_MAPPING>,
): redis.RedisSentinelType<M, F, S, RESP, TYPE_MAPPING> {
  if (typeof options !== "object" || options === null || typeof options.name !== "string") {
    throw new InvalidOptionsError(
      "options.name",
      "must be the name of the master sentinel monitors.",
    );
  }
  assertNoMisspeltOptions(options, adapterOptionNames, "options", "node-redis");
  assertAllowInsecureTransport(options.allowInsecureTransport, "options.allowInsecureTransport");
  const { allowInsecureTransport, ...sentinelOptions } = options;
  const nodeClientOptions = { ...sentinelOptions.nodeClientOptions, allowInsecureTransport };
  // Refused here, like createClient does: node-redis's sentinel would retry the connect 16 times.
  const { provider, nodeOptions } = withProvider(
    manager,
    nodeClientOptions,
    "options.nodeClientOptions",
    () => `the nodes of sentinel master "${options.name}"`,
  );
  const sentinel = redis.createSentinel({
    ...sentinelOptions,
    nodeClientOptions: nodeOptions,
  } as redis.RedisSentinelOptions<M, F, S, RESP, TYPE_MAPPING>);
  // node-redis's sentinel retries a failed connect 16 times, a second apart, before `connect()`
  // rejects: a first fetch that fails would keep the caller waiting that long.
  return bound(sentinel, provider, false, () => manager.getCredentials());
}

/**
 * Checks a factory's node options (no credentials in them; TLS unless allowed, where the
 * factory knows the transport up front) and returns them with a provider for `manager` and the
 * reconnect strategy that goes with it.
 */
function withProvider(
  manager: TokenManager,
  options: { allowInsecureTransport?: boolean | undefined; socket?: unknown; url?: string },
  name: string,
  describeTarget?: (options: { url?: string; socket?: unknown }) => string,
) {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      name,
      `must be an object of node-redis client options, not ${typeof options === "string" ? "a string" : String(options)}: for a URL, pass { url: "redis://…" }.`,
    );
  }
  assertNoMisspeltOptions(options, adapterOptionNames, name, "node-redis");
  assertAllowInsecureTransport(options.allowInsecureTransport, `${name}.allowInsecureTransport`);
  const { allowInsecureTransport = false, ...nodeOptions } = options;
  assertNoCredentials(nodeOptions, name);
  if (describeTarget && !allowInsecureTransport && !usesTls(nodeOptions)) {
    throw new InsecureTransportError(describeTarget(nodeOptions));
  }
  const provider = new NodeRedisProvider(manager, { allowInsecureTransport });
  const socket = withReconnectStrategy(nodeOptions.socket, provider);
  return { provider, nodeOptions: { ...nodeOptions, credentialsProvider: provider, socket } };
}

/**
 * Routes the provider's errors to what the factory returns (or, `onConnection`, to the
 * connection they happen on: clients and pool members forward them), makes `connect()` reject
 * with the typed error, and remembers the binding for `bindingOf`.
 */
function bound<C extends object>(
  client: C,
  provider: NodeRedisProvider,
  onConnection: boolean,
  beforeConnect?: () => Promise<unknown>,
  connectVia: (connect: () => Promise<unknown>) => Promise<unknown> = (connect) => connect(),
): C {
  provider.errorTarget = client as unknown as ErrorTarget;
  provider.errorsOnConnection = onConnection;
  const target = client as { connect: (...args: unknown[]) => Promise<unknown> };
  const connect = target.connect;
  target.connect = async function connectWithTypedErrors(this: unknown, ...args) {
    try {
      await beforeConnect?.();
      return await connectVia(() => connect.apply(this, args));
    } catch (error) {
      throw provider.connectError(error);
    }
  };
  rememberBinding(client, provider);
  return client;
}

type ReconnectStrategy =
  | false
  | number
  | ((retries: number, cause: Error) => false | Error | number);

/**
 * The caller's reconnect strategy, except where credentials decide: stop when the first fetch
 * failed (the connect rejects with the typed error instead of retrying forever); retry at once
 * after a refused handshake or an ERR_IAM_* reply (the connection paces it: forced refresh, then
 * backoff; or an IAM backoff).
 */
function withReconnectStrategy(socket: unknown, provider: NodeRedisProvider): any {
  const options = (socket ?? {}) as { reconnectStrategy?: ReconnectStrategy };
  const original = options.reconnectStrategy;
  const reconnectStrategy = (retries: number, cause: Error): false | Error | number => {
    if (isFatal(cause)) return cause;
    if (original === false) return false;
    if (isHandshakeRefusal(cause)) {
      provider.handshakeRejected(cause);
      return 0;
    }
    if (typeof original === "number") return original;
    if (typeof original === "function") return original(retries, cause);
    return defaultReconnectDelay(retries, cause);
  };
  return { ...options, reconnectStrategy };
}

/** The adapter supplies credentials: ones in the options would be ignored or, in a URL, win. */
function assertNoCredentials(options: object, name: string): void {
  assertNoCredentialOptions(options, name, ["credentialsProvider", "username", "password"]);
  const { url } = options as { url?: unknown };
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
