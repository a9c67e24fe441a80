/**
 * Every place where the adapter relies on ioredis internals, in one module. ioredis has no
 * credential hook; these are the narrowest points that let a token manager drive it.
 * `test/integration/ioredis-internals.test.ts` checks each one on every supported ioredis major,
 * so that a release that moves one fails CI instead of silently losing re-authentication.
 *
 * - `redis.connector.connect(callback)`: called by `Redis#connect()` on every connect and
 *   reconnect, after it built `redis.condition` from the options and before a socket exists.
 * - `redis.condition.auth`: the user name and password the handshake sends.
 * - `connector.firstError` + a destroyed stream: how a connector reports a failed attempt so that
 *   ioredis emits `error` and goes through `retryStrategy` (a rejected promise ends the client).
 * - `redis.silentEmit('error', …)`: emits an error without throwing when nobody listens.
 * - `redis.prevCommandQueue` / `redis.offlineQueue` (denques of `{ command }`): what ioredis
 *   re-sends after a reconnect, from which a stale AUTH is removed.
 * - `redis.commandQueue` (a denque of `{ command }`, `command.name` lower case): the commands
 *   written and not answered; a (P|S)SUBSCRIBE there is entering subscriber mode.
 * - `redis.condition.protocol` (undefined before ioredis 6, 2 after a RESP3 fallback) and
 *   `redis.condition.subscriber` (false, or a SubscriptionSet: `channels(type)`, `add(type, c)`):
 *   RESP2 subscriber mode. A reconnect starts a fresh `condition`, which holds the channels only
 *   once Redis confirms the resubscription.
 * - `cluster.subscriber.selectSubscriber()` / `.subscriber`: the cluster's pub/sub connection; its
 *   `ClusterSubscriber` subscribes a new connection to what the ended one's `condition.subscriber`
 *   holds when that one emits `end`, and to what `.lastActiveSubscriber` (the last connection whose
 *   resubscription succeeded; `condition || prevCondition`) holds when one is picked again.
 * - `cluster.shardedSubscribers.shardedSubscribers` (a Map of `{ instance }`): sharded pub/sub.
 * - `SentinelConnector`: the master (or replica) connection uses `tls` only with
 *   `enableTLSForSentinelMode`.
 */
import { Socket } from "node:net";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { setHiddenSecret } from "./hidden-secret";

type ConnectCallback = (type: string, error?: unknown) => void;
type Connect = (callback: ConnectCallback) => Promise<unknown>;

interface Connector {
  connect: Connect;
  disconnect(): void;
  firstError?: unknown;
}

/** ioredis's SubscriptionSet: the channels of each kind a RESP2 subscriber is subscribed to. */
interface SubscriptionSet {
  add(type: SubscriptionType, channel: string): void;
  channels(type: SubscriptionType): string[];
}
type SubscriptionType = "subscribe" | "psubscribe" | "ssubscribe";
const SUBSCRIPTION_TYPES: readonly SubscriptionType[] = ["subscribe", "psubscribe", "ssubscribe"];

interface Condition {
  auth?: string | [string, string];
  subscriber?: SubscriptionSet | false;
  protocol?: number;
}

interface RedisInternals {
  connector: Connector;
  condition?: Condition;
  commandQueue?: CommandQueue | null;
  silentEmit(event: string, ...args: unknown[]): boolean;
}

function internals(redis: Redis): RedisInternals {
  return redis as unknown as RedisInternals;
}

/**
 * Runs `before` ahead of every connect attempt. `before` resolves with the credentials the
 * handshake must send (undefined: leave the options alone), or rejects to fail this attempt the way a refused socket would (an `error`
 * event, then `retryStrategy`); its signal aborts when the client is disconnected meanwhile.
 * Returns a function that puts the original connector methods back.
 */
export function interceptConnect(
  redis: Redis,
  libraryName: string,
  before: (signal: AbortSignal) => Promise<{ username: string; password: string } | undefined>,
): () => void {
  const connector = internals(redis).connector;
  if (typeof connector?.connect !== "function" || typeof connector.disconnect !== "function") {
    throw new Error(
      `${libraryName} internals changed: Redis#connector.connect is missing. Please report this with your ${libraryName} version.`,
    );
  }
  const { connect, disconnect } = connector;
  // The attempt waiting in `before`, if any: the connector itself has not been called for it.
  let waiting: AbortController | undefined;
  connector.connect = async function connectWithCredentials(callback) {
    // ioredis has just built the handshake's condition from the options, token in plain view.
    const condition = internals(redis).condition;
    if (condition?.auth !== undefined) setHiddenSecret(condition, "auth", condition.auth);
    const controller = new AbortController();
    waiting = controller;
    let credentials: { username: string; password: string } | undefined;
    try {
      credentials = await before(controller.signal);
      controller.signal.throwIfAborted();
    } catch (error) {
      // A client disconnected meanwhile closes quietly; anything else is this attempt's error.
      connector.firstError = controller.signal.aborted ? undefined : error;
      const stream = new Socket();
      stream.destroy();
      return stream;
    } finally {
      if (waiting === controller) waiting = undefined;
    }
    if (credentials) setHandshakeCredentials(redis, credentials.username, credentials.password);
    return connect.call(connector, callback);
  };
  connector.disconnect = function disconnectOrAbort() {
    if (waiting === undefined) return disconnect.call(connector);
    // Only our wait is in progress; the connector's own disconnect would arm a 2 s timer on the
    // previous, already closed socket and keep the process alive that long.
    waiting.abort();
  };
  return () => {
    connector.connect = connect;
    connector.disconnect = disconnect;
  };
}

/**
 * Hides the password a connection already holds: a cluster's new subscriber copies a node's
 * options and may have started its handshake (building `condition.auth`) before it was bound.
 */
export function hideHandshakeSecrets(redis: Redis): void {
  if (redis.options.password !== undefined) {
    setHiddenSecret(redis.options, "password", redis.options.password);
  }
  const condition = internals(redis).condition;
  if (condition?.auth !== undefined) setHiddenSecret(condition, "auth", condition.auth);
}

/** Sets the credentials of the next (or the current, not yet sent) handshake. */
export function setHandshakeCredentials(redis: Redis, username: string, password: string): void {
  redis.options.username = username;
  // Hidden from inspect/console.log/JSON of `redis.options`: the token is a secret.
  setHiddenSecret(redis.options, "password", password);
  const condition = internals(redis).condition;
  if (condition !== undefined) setHiddenSecret(condition, "auth", [username, password]);
}

/** Emits `error` on the client the way ioredis does: never throws when nobody listens. */
export function emitClientError(redis: Redis, error: Error): void {
  const client = internals(redis);
  if (typeof client.silentEmit === "function") client.silentEmit("error", error);
  else if (redis.listenerCount("error") > 0) redis.emit("error", error);
}

interface ClusterSubscriberInternals {
  subscriber?: Redis | null;
  lastActiveSubscriber?: Redis & { prevCondition?: Condition | null };
  selectSubscriber?: () => void;
}

interface ClusterInternals {
  subscriber?: ClusterSubscriberInternals;
  shardedSubscribers?: { shardedSubscribers?: Map<string, { instance?: Redis | null }> };
}

const hooked = Symbol("redis-credentials.hooked");

/**
 * Calls `onConnection` for the cluster's pub/sub connections now and whenever ioredis makes new
 * ones (they are not in `cluster.nodes()` and get no `+node` event). Idempotent; call again after
 * anything that may have replaced the subscriber objects (a reconnect of the cluster).
 */
export function hookClusterSubscribers(cluster: Cluster, onConnection: (redis: Redis) => void) {
  const { subscriber, shardedSubscribers } = cluster as unknown as ClusterInternals;
  if (subscriber && typeof subscriber.selectSubscriber === "function") {
    const marked = subscriber as unknown as Record<symbol, boolean>;
    if (!marked[hooked]) {
      marked[hooked] = true;
      const select = subscriber.selectSubscriber;
      subscriber.selectSubscriber = function selectAndBind(this: ClusterSubscriberInternals) {
        select.call(this);
        const connection = this?.subscriber;
        if (!connection) return;
        onConnection(connection);
        connection.once("ready", () => replaceIfSubscriptionLost(this, connection));
      };
    }
    if (subscriber.subscriber) onConnection(subscriber.subscriber);
  }
  const map = shardedSubscribers?.shardedSubscribers;
  if (map instanceof Map) {
    const marked = map as unknown as Record<symbol, boolean>;
    if (!marked[hooked]) {
      marked[hooked] = true;
      map.set = function setAndBind(key, value) {
        if (value?.instance) onConnection(value.instance);
        return Map.prototype.set.call(this, key, value) as typeof map;
      };
    }
    for (const sharded of map.values()) if (sharded.instance) onConnection(sharded.instance);
  }
}

/**
 * ClusterSubscriber subscribes each new connection to what `lastActiveSubscriber` held, and
 * counts on a connection that fails ending (it has no `retryStrategy`) so that it picks another.
 * A refused handshake makes ioredis reject the queued (P|S)SUBSCRIBE, but the binding retries the
 * connection with fresh credentials (after an identity-provider outage past expiry, for one): it
 * gets ready subscribed to nothing and never ends, and the cluster's subscriber receives nothing
 * from then on. Such a connection is replaced, and ClusterSubscriber subscribes the new one.
 */
function replaceIfSubscriptionLost(owner: ClusterSubscriberInternals, connection: Redis): void {
  if (owner.subscriber !== connection || typeof owner.selectSubscriber !== "function") return;
  const last = owner.lastActiveSubscriber;
  if (last === undefined || last === null || last === connection) return;
  const wanted = (last as unknown as RedisInternals).condition || last.prevCondition;
  if (!hasChannels(wanted?.subscriber)) return;
  if (hasChannels(internals(connection).condition?.subscriber)) return;
  if (subscribesInFlight(connection).length > 0 || subscribesQueued(connection)) return;
  owner.selectSubscriber();
}

function hasChannels(subscriptions: SubscriptionSet | false | undefined): boolean {
  if (!subscriptions || typeof subscriptions.channels !== "function") return false;
  return SUBSCRIPTION_TYPES.some((type) => subscriptions.channels(type).length > 0);
}

/** Whether a (P|S)SUBSCRIBE waits in the offline queue (sent once the connection is ready). */
function subscribesQueued(redis: Redis): boolean {
  const queue = (redis as unknown as { offlineQueue?: CommandQueue | null }).offlineQueue;
  if (!queue || typeof queue.peekAt !== "function") return false;
  for (let i = 0; i < queue.length; i++) {
    const name = queue.peekAt(i)?.command?.name;
    if (typeof name === "string" && (SUBSCRIPTION_TYPES as readonly string[]).includes(name)) {
      return true;
    }
  }
  return false;
}

/** The cluster's pub/sub connections of the moment (for status and tests). */
export function clusterSubscriberConnections(cluster: Cluster): Redis[] {
  const { subscriber, shardedSubscribers } = cluster as unknown as ClusterInternals;
  const connections: Redis[] = [];
  if (subscriber?.subscriber) connections.push(subscriber.subscriber);
  for (const sharded of shardedSubscribers?.shardedSubscribers?.values() ?? []) {
    if (sharded.instance) connections.push(sharded.instance);
  }
  return connections;
}

interface QueuedCommand {
  command?: { name?: string; promise?: Promise<unknown>; reject?: (error: Error) => void };
}
interface CommandQueue {
  length: number;
  peekAt(index: number): QueuedCommand | undefined;
  removeOne(index: number): unknown;
}

/**
 * Removes `commands` from what ioredis would re-send after a reconnect (`prevCommandQueue`, the
 * offline queue), failing each with `reason`.
 */
export function dropQueuedCommands(redis: Redis, commands: Set<unknown>, reason: Error): void {
  const client = redis as unknown as Record<string, CommandQueue | null | undefined>;
  for (const name of ["prevCommandQueue", "offlineQueue"]) {
    const queue = client[name];
    if (!queue || typeof queue.peekAt !== "function" || typeof queue.removeOne !== "function")
      continue;
    for (let i = queue.length - 1; i >= 0; i--) {
      const item = queue.peekAt(i);
      if (item?.command === undefined || !commands.has(item.command)) continue;
      queue.removeOne(i);
      commands.delete(item.command);
      item.command.reject?.(reason);
    }
  }
}

/**
 * Whether ioredis speaks TLS to the Redis node. Through sentinel (`sentinels`), the master or
 * replica connection uses `tls` only with `enableTLSForSentinelMode`; without it, plain TCP.
 */
export function usesTls(options: RedisOptions): boolean {
  if (!options.tls) return false;
  return !options.sentinels || options.enableTLSForSentinelMode === true;
}

/** The (P|S)SUBSCRIBE commands written to the connection and not answered yet. */
function subscribesInFlight(redis: Redis): QueuedCommand["command"][] {
  const queue = internals(redis).commandQueue;
  if (!queue || typeof queue.peekAt !== "function") return [];
  const found: QueuedCommand["command"][] = [];
  for (let i = 0; i < queue.length; i++) {
    const command = queue.peekAt(i)?.command;
    const name = typeof command?.name === "string" ? command.name.toLowerCase() : undefined;
    if (name !== undefined && (SUBSCRIPTION_TYPES as readonly string[]).includes(name)) {
      found.push(command);
    }
  }
  return found;
}

/**
 * Whether a RESP2 connection has a (P|S)SUBSCRIBE in flight. ioredis switches to subscriber mode
 * (`redis.mode`) only when its reply arrives, but Redis does when it runs the command: an AUTH
 * written behind it is refused ("only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET
 * are allowed in this context") and the connection keeps its old token until it expires.
 */
export function enteringResp2SubscriberMode(redis: Redis): boolean {
  const condition = internals(redis).condition;
  if (condition === undefined || condition.protocol === 3) return false;
  return subscribesInFlight(redis).length > 0;
}

/**
 * What a RESP2 subscriber the adapter reconnected was subscribed to, until ioredis's
 * resubscription is confirmed: the reconnect's fresh `condition` holds the channels only then.
 */
const unconfirmedSubscriptions = new WeakMap<Redis, SubscriptionSet>();

function copySubscriptions(from: SubscriptionSet, into?: SubscriptionSet): SubscriptionSet {
  const copy = into ?? new (from.constructor as new () => SubscriptionSet)();
  for (const type of SUBSCRIPTION_TYPES) {
    for (const channel of from.channels(type)) copy.add(type, channel);
  }
  return copy;
}

/**
 * Called before the adapter reconnects `redis` to re-authenticate it: remembers the channels of a
 * RESP2 subscriber (added to those of an earlier reconnect still unconfirmed).
 */
export function rememberSubscriptions(redis: Redis): void {
  const subscriber = internals(redis).condition?.subscriber;
  if (!subscriber || typeof subscriber.channels !== "function") return;
  unconfirmedSubscriptions.set(
    redis,
    copySubscriptions(subscriber, unconfirmedSubscriptions.get(redis)),
  );
}

/**
 * Called on `ready`, after ioredis has written the resubscription: the remembered channels are
 * forgotten once every (P|S)SUBSCRIBE in flight is answered (Redis confirmed them).
 */
export function watchResubscription(redis: Redis): void {
  const remembered = unconfirmedSubscriptions.get(redis);
  if (remembered === undefined) return;
  const replies = subscribesInFlight(redis).map((command) => command?.promise);
  Promise.all(replies).then(
    () => {
      if (unconfirmedSubscriptions.get(redis) === remembered) {
        unconfirmedSubscriptions.delete(redis);
      }
    },
    // Failed with its connection: the channels stay remembered for the next one.
    () => {},
  );
}

/**
 * Called when `redis` ends, before ioredis's `end` listeners run: puts the channels a
 * resubscription had not confirmed back into `condition.subscriber`, where a cluster's
 * ClusterSubscriber reads what to subscribe its next connection to.
 */
export function restoreUnconfirmedSubscriptions(redis: Redis): void {
  const remembered = unconfirmedSubscriptions.get(redis);
  if (remembered === undefined) return;
  unconfirmedSubscriptions.delete(redis);
  const condition = internals(redis).condition;
  if (condition === undefined) return;
  condition.subscriber = condition.subscriber
    ? copySubscriptions(remembered, condition.subscriber)
    : remembered;
}
