import {
  assertNoCredentialOptions,
  assertTokenManager,
  CredentialsRejectedError,
  IamUnavailableError,
  isHandshakeRefusal,
  type TokenManager,
} from "@redis-credentials/core";
import type { Cluster, ClusterNode, Redis } from "ioredis";
import { bindCredentials } from "./bind-credentials";
import type { BindOptions, CreateClusterOptions, CreateRedisOptions } from "./factory-options";
import type { IoredisLibrary } from "./ioredis-library";
import { assertNoMisspeltOptions } from "./misspelt-options";

/** The adapter's own keys in the options it shares with ioredis (`AdapterOptions`). */
const adapterOptionNames = ["allowInsecureTransport"];

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
  assertNoCredentialOptions(options, "options");
  assertNoMisspeltOptions(options, adapterOptionNames, "options", library.name);
  assertNoCredentialOptions(options?.redisOptions ?? {}, "options.redisOptions");
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
  await untilClusterReady(cluster);
  return cluster;
}

/**
 * `cluster.connect()`, except that refused credentials do not end it: the cluster retries (its
 * `clusterRetryStrategy`) with the fresh credentials the binding forced, and rejects with the
 * `CredentialsRejectedError` the binding emits if Redis refuses those too. Any other failure
 * rejects at once, as `connect()` does. The cluster is disconnected when it rejects.
 */
function untilClusterReady(cluster: Cluster): Promise<void> {
  return new Promise((resolve, reject) => {
    let refused = false;
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      cluster.off("error", onError);
      cluster.off("end", onEnd);
      cluster.off("ready", onReady);
      if (error === undefined) return resolve();
      cluster.disconnect();
      reject(error);
    };
    const onError = (error: unknown) => {
      if (error instanceof CredentialsRejectedError) settle(error);
      const lastNodeError = (error as { lastNodeError?: unknown } | null)?.lastNodeError;
      if (isHandshakeRefusal(lastNodeError)) refused = true;
    };
    const onEnd = () => settle(new Error("The cluster connection ended before it was ready."));
    // The connect after a refusal fails; the cluster's retry (`ready`) or the typed error settles.
    const onReady = () => settle();
    cluster.on("error", onError);
    cluster.on("end", onEnd);
    cluster.on("ready", onReady);
    cluster.connect().then(
      () => settle(),
      (error: unknown) => {
        if (!refused) settle(error);
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
 * an ERR_IAM_* reply, retries after a backoff.
 */
function untilReady(redis: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown) => {
      redis.off("ready", onReady);
      redis.off("error", onError);
      redis.off("end", onEnd);
      if (error === undefined) return resolve();
      redis.disconnect();
      reject(error);
    };
    const onReady = () => settle();
    // A refused handshake or IAM unable to check the token (the IamUnavailableError that
    // follows it too) is retried by the binding.
    const onError = (error: unknown) => {
      if (!isHandshakeRefusal(error) && !(error instanceof IamUnavailableError)) settle(error);
    };
    const onEnd = () => settle(new Error("The connection ended before it was ready."));
    redis.on("ready", onReady);
    redis.on("error", onError);
    redis.on("end", onEnd);
    redis.connect().catch(() => {});
  });
}
