import {
  assertNoCredentialOptions,
  assertNoMisspeltOptions,
  assertTokenManager,
  CredentialsRejectedError,
  IamUnavailableError,
  InvalidOptionsError,
  isHandshakeRefusal,
  type TokenManager,
} from "@redis-credentials/core";
import type { Cluster, ClusterNode, Redis } from "ioredis";
import { assertAllowInsecureTransport } from "./assert-allow-insecure-transport";
import { bindCredentials } from "./bind-credentials";
import { targetOf } from "./client-connection";
import { ClusterNotReadyError } from "./cluster-not-ready-error";
import { ConnectionClosedError } from "./connection-closed-error";
import type { BindOptions, CreateClusterOptions, CreateRedisOptions } from "./factory-options";
import type { IoredisLibrary } from "./ioredis-library";

/** The adapter's own keys in the options it shares with ioredis (`AdapterOptions`). */
const adapterOptionNames = ["allowInsecureTransport"];

/**
 * How long `createCluster` waits for the cluster to be ready before it gives up with
 * `ClusterNotReadyError`: ioredis 6 retries a cluster that never gets ready for ever.
 */
export const CLUSTER_READY_TIMEOUT_MS = 30_000;

/**
 * Fetches credentials, then connects a client of `library` bound to `manager`. Resolves once the
 * client is ready (with `lazyConnect: true`: at once, unconnected); rejects, disconnecting the
 * client, if the first connect fails — for refused credentials, with `CredentialsRejectedError`
 * once a forced refresh did not help.
 */
export async function createRedis(
  library: IoredisLibrary,
  manager: TokenManager,
  options: CreateRedisOptions = {},
): Promise<Redis> {
  assertTokenManager(manager, "create a client");
  assertNoCredentialOptions(options, "options");
  assertNoMisspeltOptions(options, adapterOptionNames, "options", library.name);
  assertAllowInsecureTransport(options.allowInsecureTransport, "options.allowInsecureTransport");
  const { allowInsecureTransport = false, ...redisOptions } = options;
  const bindOptions = { allowInsecureTransport };
  const credentials = await manager.getCredentials();
  // No password here: the binding sets it where inspect and JSON do not show it.
  const redis = new library.Redis({
    ...redisOptions,
    username: credentials.username,
    lazyConnect: true,
  });
  bindOrDisconnect(library, redis, manager, bindOptions, redisOptions.lazyConnect === true);
  if (redisOptions.lazyConnect === true) return redis;
  await untilReady(redis);
  return redis;
}

/** Like {@link createRedis}, for a Redis Cluster: every node, subscriber and duplicate is bound. */
export async function createCluster(
  library: IoredisLibrary,
  manager: TokenManager,
  startupNodes: ClusterNode[],
  options: CreateClusterOptions = {},
): Promise<Cluster> {
  assertTokenManager(manager, "create a cluster client");
  assertStartupNodes(startupNodes);
  assertNoCredentialOptions(options, "options");
  assertNoMisspeltOptions(options, adapterOptionNames, "options", library.name);
  assertNoCredentialOptions(options?.redisOptions ?? {}, "options.redisOptions");
  assertAllowInsecureTransport(options.allowInsecureTransport, "options.allowInsecureTransport");
  const { allowInsecureTransport = false, ...clusterOptions } = options;
  const bindOptions = { allowInsecureTransport };
  const credentials = await manager.getCredentials();
  const cluster = new library.Cluster(startupNodes, {
    ...clusterOptions,
    // No password here (ioredis 6 copies redisOptions into its connection pool): the binding
    // sets it, hidden, on `redisOptions` and on each node as it appears.
    redisOptions: { ...clusterOptions.redisOptions, username: credentials.username },
    lazyConnect: true,
  });
  bindOrDisconnect(library, cluster, manager, bindOptions, clusterOptions.lazyConnect === true);
  if (clusterOptions.lazyConnect === true) return cluster;
  await untilClusterReady(cluster, describeNodes(startupNodes), manager);
  return cluster;
}

/** ioredis takes `[{ host, port }]`, ports or `"host:port"` strings; a lone string it would split. */
function assertStartupNodes(startupNodes: unknown): void {
  const valid =
    Array.isArray(startupNodes) &&
    startupNodes.length > 0 &&
    startupNodes.every(
      (node) =>
        typeof node === "string" ||
        typeof node === "number" ||
        (typeof node === "object" && node !== null),
    );
  if (valid) return;
  throw new InvalidOptionsError(
    "startupNodes",
    'must be a non-empty array of nodes: [{ host, port }], ports or "host:port" strings' +
      (typeof startupNodes === "string" ? " (wrap a single node in an array)." : "."),
  );
}

/** `host:port, host:port` for an error message (the first three nodes, no URL credentials). */
function describeNodes(startupNodes: ClusterNode[]): string {
  const named = startupNodes.slice(0, 3).map((node) => {
    if (typeof node !== "object") return String(node).replace(/^.*@/, "");
    return `${node.host ?? "localhost"}:${node.port ?? 6379}`;
  });
  return named.join(", ") + (startupNodes.length > 3 ? ", …" : "");
}

/**
 * `cluster.connect()`, except that refused credentials do not end it: the cluster retries (its
 * `clusterRetryStrategy`) with the fresh credentials the binding forced, and rejects with the
 * `CredentialsRejectedError` the binding emits if Redis refuses those too. Any other failure
 * rejects at once, as `connect()` does; so does a CLUSTER SLOTS reply naming no node (which
 * ioredis 6 retries for ever), and a cluster not ready within `CLUSTER_READY_TIMEOUT_MS`, with
 * `ClusterNotReadyError`. The cluster is disconnected when it rejects.
 */
function untilClusterReady(
  cluster: Cluster,
  startupNodes: string,
  manager: TokenManager,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let refused = false;
    let settled = false;
    let lastNodeError: unknown;
    // Once the slots were read empty, that is the answer, whichever of the refresh, connect()'s
    // rejection (ioredis 5, iovalkey) or the end of the cluster comes first.
    let noSlots: ClusterNotReadyError | undefined;
    const clock = manager.clock;
    const timer = clock.setTimeout(
      () =>
        settle(
          new ClusterNotReadyError("timeout", startupNodes, {
            cause: lastNodeError,
            timeoutMs: CLUSTER_READY_TIMEOUT_MS,
          }),
        ),
      CLUSTER_READY_TIMEOUT_MS,
    );
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      cluster.off("error", onError);
      cluster.off("node error", onNodeError);
      cluster.off("refresh", onRefresh);
      cluster.off("end", onEnd);
      cluster.off("ready", onReady);
      if (error === undefined) return resolve();
      cluster.disconnect();
      reject(error);
    };
    const onError = (error: unknown) => {
      if (error instanceof CredentialsRejectedError) settle(error);
      const nodeError = (error as { lastNodeError?: unknown } | null)?.lastNodeError;
      lastNodeError = nodeError ?? error;
      if (isHandshakeRefusal(nodeError)) refused = true;
    };
    const onNodeError = (error: unknown) => {
      lastNodeError = error;
    };
    // Slots read, and no node serves any: ioredis 5 rejects connect(), ioredis 6 starts over.
    // Settled a turn later: connect()'s own `refresh` listener, after this one, would undo a
    // disconnect made now (it resets ioredis's manuallyClosing) and the cluster would retry.
    const onRefresh = () => {
      if (cluster.nodes("all").length > 0) return;
      noSlots = new ClusterNotReadyError("no-slots", startupNodes, { cause: lastNodeError });
      const error = noSlots;
      setImmediate(() => settle(error));
    };
    const onEnd = () =>
      settle(noSlots ?? new Error("The cluster connection ended before it was ready."));
    // The connect after a refusal fails; the cluster's retry (`ready`) or the typed error settles.
    const onReady = () => settle();
    cluster.on("error", onError);
    cluster.on("node error", onNodeError);
    cluster.on("refresh", onRefresh);
    cluster.on("end", onEnd);
    cluster.on("ready", onReady);
    cluster.connect().then(
      () => settle(),
      (error: unknown) => {
        if (refused) return;
        // iovalkey empties its pool on an empty slot table and rejects without a `refresh`:
        // every node answered (no node error) and none serves a slot.
        const answeredEmpty = lastNodeError === undefined && cluster.nodes("all").length === 0;
        settle(
          noSlots ??
            (answeredEmpty
              ? new ClusterNotReadyError("no-slots", startupNodes, { cause: error })
              : error),
        );
      },
    );
  });
}

/**
 * Binds a client the factory built with `lazyConnect: true`, then gives `lazyConnect` back the
 * caller's value, because `duplicate()` copies the options and its copies should connect by
 * themselves unless the caller asked for lazy clients. A client that cannot be bound is closed.
 */
function bindOrDisconnect(
  library: IoredisLibrary,
  client: Redis | Cluster,
  manager: TokenManager,
  options: BindOptions,
  lazyConnect: boolean,
): void {
  client.options.lazyConnect = lazyConnect;
  try {
    bindCredentials(library, client, manager, options);
  } catch (error) {
    client.disconnect();
    throw error;
  }
}

/**
 * `redis.connect()`, except that a refused handshake does not end it: the binding retries with
 * fresh credentials and emits `CredentialsRejectedError` if Redis refuses those too, or, after
 * an ERR_IAM_* reply, retries after a backoff. A connection the server closes without such a
 * reply ends it with `ConnectionClosedError`: ioredis would reconnect for ever (its
 * `retryStrategy`) and its `connect()` rejection says only "Connection is closed.".
 */
function untilReady(redis: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    // A refusal closes the connection too, after its `error`: that close is the binding's retry.
    let refusedSinceClose = false;
    let lastRefusal: unknown;
    let connectError: unknown;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      redis.off("ready", onReady);
      redis.off("error", onError);
      redis.off("close", onClose);
      redis.off("end", onEnd);
      if (error === undefined) return resolve();
      redis.disconnect();
      reject(error);
    };
    const closed = () =>
      new ConnectionClosedError(
        targetOf(redis),
        connectError === undefined ? undefined : { cause: connectError },
      );
    const onReady = () => settle();
    // A refused handshake or IAM unable to check the token (the IamUnavailableError that
    // follows it too) is retried by the binding.
    const onError = (error: unknown) => {
      if (!isHandshakeRefusal(error) && !(error instanceof IamUnavailableError)) {
        settle(error);
        return;
      }
      refusedSinceClose = true;
      lastRefusal = error;
    };
    // connect()'s rejection, the library's error for `cause`, comes a few ticks after `close`.
    const onClose = () => {
      if (refusedSinceClose) refusedSinceClose = false;
      else setImmediate(() => settle(closed()));
    };
    const onEnd = () => setImmediate(() => settle(lastRefusal ?? closed()));
    redis.on("ready", onReady);
    redis.on("error", onError);
    redis.on("close", onClose);
    redis.on("end", onEnd);
    redis.connect().catch((error: unknown) => {
      connectError = error;
    });
  });
}
