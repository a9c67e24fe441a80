import {
  ConnectionSession,
  type ConnectionState,
  isHandshakeRefusal,
  type RedisCredentials,
  type SessionGroup,
  type SessionPort,
} from "@redis-credentials/core";
import type { Redis, RedisOptions } from "ioredis";
import {
  dropQueuedCommands,
  emitClientError,
  enteringResp2SubscriberMode,
  hideHandshakeSecrets,
  interceptConnect,
  rememberSubscriptions,
  restoreUnconfirmedSubscriptions,
  setHandshakeCredentials,
  usesTls,
  watchResubscription,
} from "./ioredis-internals";
import type { IoredisLibrary } from "./ioredis-library";
import { scrubAuthError } from "./scrub-auth-error";

/** What one connection needs from the binding it belongs to. */
export interface ConnectionOwner {
  readonly group: SessionGroup;
  /** The client library's classes (AUTH goes out as its `Command`). */
  readonly library: IoredisLibrary;
  /** Binds a connection made from this one (`duplicate()`). */
  attach(redis: Redis): void;
  /** Called once the connection's hooks are undone. */
  forget(redis: Redis): void;
}

type RetryStrategy = NonNullable<RedisOptions["retryStrategy"]>;

const unwrapped = Symbol("redis-credentials.retryStrategy");
/** Options object → its session, because ioredis calls `retryStrategy` with the options as `this`. */
const sessionsByOptions = new WeakMap<object, ConnectionSession>();

/**
 * Maps one ioredis connection's hooks onto a core {@link ConnectionSession}: the connector asks
 * the session for the handshake's credentials, AUTH goes out as ioredis `Command`s, and `ready`,
 * `error`, `close` and `end`, MULTI/EXEC and `duplicate()` tell the session what happens.
 */
export function bindClientConnection(redis: Redis, context: ConnectionOwner): void {
  const restore: (() => void)[] = [];
  /** AUTH commands sent and not answered: a reconnect must not re-send them after its handshake. */
  const pendingAuths = new Set<unknown>();
  const session = new ConnectionSession(
    context.group,
    portOf(redis, context.library, pendingAuths),
    () => {
      for (const undo of restore.splice(0).reverse()) undo();
      context.forget(redis);
    },
  );

  const current = context.group.current();
  // A cluster's new subscriber copies a node's password into its own options, and may have
  // started its handshake with it before being bound: that old token is still a secret.
  hideHandshakeSecrets(redis);
  if (current !== undefined) setHandshakeCredentials(redis, current.username, current.password);
  if (redis.status !== "wait" && redis.status !== "end") {
    // Bound while already connecting: what the options held is what the handshake sends.
    session.handshakeStarted({
      username: redis.options.username ?? "default",
      password: String(redis.options.password ?? ""),
    });
  }
  restore.push(
    interceptConnect(redis, context.library.name, async (signal) => {
      if (context.group.disposed) {
        session.dispose();
        return undefined;
      }
      context.group.assertTransport(usesTls(redis.options), targetOf(redis));
      return session.handshakeCredentials(signal);
    }),
  );
  restore.push(wrapRetryStrategy(redis, session));
  restore.push(wrapMethods(redis, session, context));
  const listen = (event: string, handler: (...args: any[]) => void) => {
    redis.on(event, handler);
    restore.push(() => redis.off(event, handler));
  };
  listen("ready", () => {
    watchResubscription(redis);
    session.ready();
  });
  listen("error", (error: unknown) => {
    // Only a refused handshake arrives here; a refused re-AUTH rejects its own command.
    if (isHandshakeRefusal(error) && redis.status === "connect") session.handshakeRefused(error);
  });
  listen("close", () => {
    dropQueuedCommands(redis, pendingAuths, new Error("AUTH superseded by a reconnect"));
    // Ended for good (a cluster's subscriber has no retryStrategy): `close` comes before `end`,
    // on whose listeners ClusterSubscriber subscribes the next connection to this one's channels.
    if (redis.status === "end") restoreUnconfirmedSubscriptions(redis);
  });
  listen("end", () => session.end());
}

function portOf(redis: Redis, library: IoredisLibrary, pendingAuths: Set<unknown>): SessionPort {
  return {
    get target() {
      return targetOf(redis);
    },
    get connectTimeoutMs() {
      return redis.options.connectTimeout ?? 10_000;
    },
    connectionState(): ConnectionState {
      const status = redis.status as string;
      if (status === "monitoring") return "reconnect-to-reauthenticate";
      if (status === "end") return "ended";
      if (status !== "ready") return "connecting";
      // ioredis refuses AUTH on a RESP2 connection in subscriber mode (ioredis 5 has only RESP2),
      // and Redis one written behind a SUBSCRIBE whose reply has not switched ioredis's mode yet.
      const subscriber = redis.mode === "subscriber" || enteringResp2SubscriberMode(redis);
      return subscriber ? "reconnect-to-reauthenticate" : "ready";
    },
    sendAuth(credentials: RedisCredentials) {
      setHandshakeCredentials(redis, credentials.username, credentials.password);
      // Our own Command object, so that the close listener can tell it apart in ioredis's queues.
      const command = new library.Command("auth", [credentials.username, credentials.password]);
      pendingAuths.add(command);
      redis.sendCommand(command);
      // A refused AUTH's reply error holds the token in `command.args`.
      return command.promise
        .catch((error: unknown) => Promise.reject(scrubAuthError(error)))
        .finally(() => pendingAuths.delete(command));
    },
    reconnect() {
      // The reconnect's fresh condition holds the channels only once Redis confirms them.
      rememberSubscriptions(redis);
      redis.disconnect(true);
    },
    reportError(error: Error) {
      emitClientError(redis, error);
    },
  };
}

/** The caller's `retryStrategy`, except that the session may ask for an immediate retry. */
function wrapRetryStrategy(redis: Redis, session: ConnectionSession): () => void {
  const options = redis.options;
  const current = options.retryStrategy as (RetryStrategy & { [unwrapped]?: unknown }) | null;
  const original = (current?.[unwrapped] ?? current) as RetryStrategy | null | undefined;
  const wrapped = function retryWithCredentials(this: unknown, times: number) {
    if (sessionsByOptions.get(this as object)?.retryAtOnce()) return 0;
    return typeof original === "function" ? original.call(this, times) : undefined;
  } as RetryStrategy & { [unwrapped]?: unknown };
  wrapped[unwrapped] = original;
  options.retryStrategy = wrapped;
  sessionsByOptions.set(options, session);
  return () => {
    sessionsByOptions.delete(options);
    if (options.retryStrategy === wrapped) options.retryStrategy = original as RetryStrategy;
  };
}

/** `duplicate()` copies, and the transaction gate; nothing else touches the command path. */
function wrapMethods(redis: Redis, session: ConnectionSession, context: ConnectionOwner) {
  const client = redis as Redis & Record<string, unknown>;
  const original = {
    duplicate: client.duplicate,
    multi: client.multi,
    exec: client.exec,
    discard: client.discard,
  } as Record<string, (...args: unknown[]) => unknown>;
  const overrides: Record<string, (this: Redis, ...args: unknown[]) => unknown> = {
    duplicate(...args) {
      // The copy takes the options of the moment, and may connect at once (monitor() does).
      const current = context.group.current();
      if (current !== undefined) setHandshakeCredentials(this, current.username, current.password);
      const copy = original.duplicate!.apply(this, args) as Redis;
      context.attach(copy);
      return copy;
    },
    multi(...args) {
      const [first, second] = args;
      const options = second === undefined && !Array.isArray(first) ? first : second;
      if ((options as { pipeline?: boolean } | undefined)?.pipeline === false) {
        session.transactionStarted();
      }
      return original.multi!.apply(this, args);
    },
    exec(...args) {
      const result = original.exec!.apply(this, args);
      session.transactionEnded();
      return result;
    },
    discard(...args) {
      const result = original.discard!.apply(this, args);
      session.transactionEnded();
      return result;
    },
  };
  for (const [name, override] of Object.entries(overrides)) client[name] = override;
  return () => {
    for (const name of Object.keys(overrides)) delete client[name];
  };
}

/** Where `redis` connects, for messages: `host:port` or the sentinel master's name. */
export function targetOf(redis: Redis): string {
  const { host, port, sentinels, name } = redis.options;
  return sentinels ? `sentinel master "${name}"` : `${host ?? "localhost"}:${port ?? 6379}`;
}
