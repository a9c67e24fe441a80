import {
  CredentialsExpiredError,
  createRejectionTracker,
  InsecureTransportError,
  isCredentialsRejection,
  ManagerDisposedError,
  type RedisCredentials,
  type RejectionOutcome,
  sameCredentials,
} from "@redis-credentials/core";
import { Command, type Redis, type RedisOptions } from "ioredis";
import type { BindingGroup } from "./binding-group";
import {
  dropQueuedCommands,
  emitClientError,
  interceptConnect,
  setHandshakeCredentials,
  usesTls,
} from "./ioredis-internals";

type RetryStrategy = NonNullable<RedisOptions["retryStrategy"]>;

const unwrapped = Symbol("redis-credentials.retryStrategy");
/** Options object → its connection, because ioredis calls `retryStrategy` with the options as `this`. */
const connectionsByOptions = new WeakMap<object, BoundConnection>();

/**
 * Keeps one ioredis connection authenticated: every connect sends the manager's current
 * credentials, and new credentials reach the live connection by AUTH (or, where ioredis cannot
 * send AUTH, by a reconnect) when the manager hands them to this connection's subscription.
 */
export class BoundConnection {
  readonly #redis: Redis;
  readonly #group: BindingGroup;
  readonly #tracker;
  readonly #restore: (() => void)[] = [];
  #unsubscribe: (() => void) | undefined;
  /** What the current (or last) handshake sent. */
  #handshake: RedisCredentials | undefined;
  /** The credentials the server holds for this connection. */
  #onServer: Pick<RedisCredentials, "username" | "password"> | undefined;
  /** Counts handshakes, so that replies to an AUTH that ioredis re-sent after a reconnect are recognised. */
  #epoch = 0;
  #inTransaction = false;
  #authDeferred = false;
  #reconnectNow = false;
  #rejection: Promise<RejectionOutcome> | undefined;
  #waits = new AbortController();
  /** AUTH commands sent and not answered yet. */
  readonly #pendingAuths = new Set<unknown>();

  constructor(redis: Redis, group: BindingGroup) {
    this.#redis = redis;
    this.#group = group;
    this.#tracker = createRejectionTracker(group.manager);
    const current = group.current();
    if (current !== undefined) setHandshakeCredentials(redis, current.username, current.password);
    if (redis.status !== "wait" && redis.status !== "end") {
      // Bound while already connecting: what the options held is what the handshake sends.
      this.#onServer = {
        username: redis.options.username ?? "default",
        password: String(redis.options.password ?? ""),
      };
      this.#subscribe();
    }
    this.#restore.push(interceptConnect(redis, (signal) => this.#credentialsForConnect(signal)));
    this.#wrapRetryStrategy();
    this.#wrapMethods();
    this.#listen("ready", () => this.#onReady());
    this.#listen("error", (error: unknown) => this.#onError(error));
    this.#listen("close", () => {
      this.#inTransaction = false;
      this.#authDeferred = false;
      // The next handshake sends current credentials: an AUTH ioredis would re-send is stale.
      dropQueuedCommands(redis, this.#pendingAuths, new Error("AUTH superseded by a reconnect"));
    });
    this.#listen("end", () => this.#onEnd());
  }

  /** Undoes every hook; the client keeps the credentials it has. */
  detach(): void {
    this.#onEnd();
    for (const restore of this.#restore.splice(0).reverse()) restore();
    this.#group.forget(this.#redis, this);
  }

  async #credentialsForConnect(signal: AbortSignal): Promise<RedisCredentials | undefined> {
    if (this.#group.disposed) {
      this.detach();
      return undefined;
    }
    if (!usesTls(this.#redis.options) && !this.#group.allowInsecureTransport) {
      throw new InsecureTransportError(this.#target());
    }
    this.#subscribe();
    let credentials: RedisCredentials | undefined;
    const rejection = this.#rejection;
    if (rejection !== undefined) {
      this.#rejection = undefined;
      const outcome = await rejection.catch(() => undefined);
      if (outcome?.error) emitClientError(this.#redis, outcome.error);
      credentials = outcome?.credentials;
    }
    credentials ??=
      this.#group.manager.peekCredentials() ?? (await this.#waitForCredentials(signal));
    if (credentials.expiresAt <= Date.now()) credentials = await this.#waitForCredentials(signal);
    this.#handshake = credentials;
    return credentials;
  }

  async #waitForCredentials(signal: AbortSignal): Promise<RedisCredentials> {
    const timeoutMs = this.#redis.options.connectTimeout ?? 10_000;
    const bounded = AbortSignal.any([signal, this.#waits.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      return await this.#group.manager.getCredentials({ signal: bounded });
    } catch (error) {
      if (error instanceof ManagerDisposedError) throw error;
      const lastError = this.#group.manager.status().lastError;
      throw new CredentialsExpiredError(
        `No valid credentials to connect to ${this.#target()} within connectTimeout (${timeoutMs} ms): ` +
          `source "${this.#group.manager.name}" has not produced new ones${lastError ? ` (${lastError.message})` : ""}. ` +
          "The client keeps retrying and reconnects by itself when the source recovers.",
        { cause: lastError ?? error },
      );
    }
  }

  #subscribe(): void {
    if (this.#unsubscribe !== undefined) return;
    // A disposed manager hands out nothing; the connect hook reports ManagerDisposedError.
    if (this.#group.manager.status().state === "disposed") return;
    if (this.#waits.signal.aborted) this.#waits = new AbortController();
    this.#unsubscribe = this.#group.manager.subscribe((credentials) =>
      this.#reauthenticate(credentials),
    );
    this.#group.live.add(this);
    this.#group.attached.add(this);
  }

  #onReady(): void {
    this.#epoch += 1;
    this.#tracker.accepted();
    if (this.#handshake !== undefined) this.#onServer = this.#handshake;
    const current = this.#group.current();
    const onServer = this.#onServer;
    if (current !== undefined && (onServer === undefined || !sameCredentials(current, onServer))) {
      this.#reauthenticate(current);
    }
  }

  #onError(error: unknown): void {
    // Only a refused handshake matters here; a refused re-AUTH arrives on its own promise.
    if (!isCredentialsRejection(error) || this.#redis.status !== "connect") return;
    if (this.#rejection !== undefined || this.#handshake === undefined) return;
    this.#group.reauthFailures += 1;
    this.#rejection = this.#tracker.rejected(this.#handshake, error, this.#waits.signal);
    this.#rejection.catch(() => {});
  }

  #onEnd(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#waits.abort();
    this.#group.live.delete(this);
    this.#group.attached.delete(this);
  }

  /** New credentials for this connection (from the manager's staggered fan-out, or a retry). */
  #reauthenticate(credentials: RedisCredentials): void {
    const redis = this.#redis;
    redis.options.username = credentials.username;
    redis.options.password = credentials.password;
    // Not connected: the next handshake sends them (the connect hook reads the manager anyway).
    if ((redis.status as string) === "monitoring") {
      this.#reconnect();
      return;
    }
    if (redis.status !== "ready") return;
    // ioredis refuses AUTH on a RESP2 connection in subscriber mode; ioredis 5 has only RESP2.
    if (redis.mode === "subscriber") {
      this.#reconnect();
      return;
    }
    if (this.#inTransaction) {
      this.#authDeferred = true;
      return;
    }
    this.#sendAuth(credentials);
  }

  #sendAuth(credentials: RedisCredentials): void {
    const epoch = this.#epoch;
    const stale = () => epoch !== this.#epoch;
    // Our own Command object, so that the close listener can tell it apart in ioredis's queues.
    const command = new Command("auth", [credentials.username, credentials.password]);
    this.#pendingAuths.add(command);
    this.#redis.sendCommand(command);
    command.promise
      .finally(() => this.#pendingAuths.delete(command))
      .then(
        () => {
          if (stale()) {
            // Answered after a reconnect (a re-send that escaped the close listener): the
            // handshake sent current credentials, and this older AUTH may have replaced them.
            const current = this.#group.current();
            if (current !== undefined && !sameCredentials(current, credentials)) {
              this.#reauthenticate(current);
            }
            return;
          }
          this.#onServer = credentials;
          this.#group.lastReauthAt = Date.now();
          this.#tracker.accepted();
        },
        async (error: unknown) => {
          // Dropped at a close, or refused after a reconnect: the handshake already sent current
          // credentials, so this is not a failure.
          if (stale() || !isCredentialsRejection(error)) return;
          this.#group.reauthFailures += 1;
          const outcome = await this.#tracker
            .rejected(credentials, error, this.#waits.signal)
            .catch(() => undefined);
          if (outcome === undefined) return;
          if (outcome.error) emitClientError(this.#redis, outcome.error);
          this.#reauthenticate(outcome.credentials);
        },
      );
  }

  /** Reconnects with current credentials and no retry delay; ioredis resubscribes by itself. */
  #reconnect(): void {
    this.#reconnectNow = true;
    this.#redis.disconnect(true);
  }

  #wrapRetryStrategy(): void {
    const options = this.#redis.options;
    const current = options.retryStrategy as (RetryStrategy & { [unwrapped]?: unknown }) | null;
    const original = (current?.[unwrapped] ?? current) as RetryStrategy | null | undefined;
    const wrapped = function retryWithCredentials(this: unknown, times: number) {
      const connection = connectionsByOptions.get(this as object);
      if (connection?.takeImmediateRetry()) return 0;
      return typeof original === "function" ? original.call(this, times) : undefined;
    } as RetryStrategy & { [unwrapped]?: unknown };
    wrapped[unwrapped] = original;
    options.retryStrategy = wrapped;
    connectionsByOptions.set(options, this);
    this.#restore.push(() => {
      connectionsByOptions.delete(options);
      if (options.retryStrategy === wrapped) options.retryStrategy = original as RetryStrategy;
    });
  }

  /** For the retryStrategy wrapper: whether this reconnect should happen at once. */
  takeImmediateRetry(): boolean {
    if (this.#reconnectNow) {
      this.#reconnectNow = false;
      return true;
    }
    // After a refused handshake the connect hook paces the retry (forced refresh, then backoff).
    return this.#rejection !== undefined;
  }

  /** `duplicate()` copies, and the transaction gate; nothing else touches the command path. */
  #wrapMethods(): void {
    const redis = this.#redis as Redis & Record<string, unknown>;
    const original = {
      duplicate: redis.duplicate,
      multi: redis.multi,
      exec: redis.exec,
      discard: redis.discard,
    } as Record<string, (...args: unknown[]) => unknown>;
    const connection = this;
    const group = this.#group;
    const overrides: Record<string, (this: Redis, ...args: unknown[]) => unknown> = {
      duplicate(...args) {
        // The copy takes the options of the moment, and may connect at once (monitor() does).
        const current = group.current();
        if (current !== undefined) {
          this.options.username = current.username;
          this.options.password = current.password;
        }
        const copy = original.duplicate!.apply(this, args) as Redis;
        group.attach(copy);
        return copy;
      },
      multi(...args) {
        const [first, second] = args;
        const options = second === undefined && !Array.isArray(first) ? first : second;
        if ((options as { pipeline?: boolean } | undefined)?.pipeline === false) {
          connection.#inTransaction = true;
        }
        return original.multi!.apply(this, args);
      },
      exec(...args) {
        const result = original.exec!.apply(this, args);
        connection.#endTransaction();
        return result;
      },
      discard(...args) {
        const result = original.discard!.apply(this, args);
        connection.#endTransaction();
        return result;
      },
    };
    for (const [name, override] of Object.entries(overrides)) {
      redis[name] = override;
      this.#restore.push(() => {
        delete redis[name];
      });
    }
  }

  /** EXEC or DISCARD was written: an AUTH sent now reaches the server after it. */
  #endTransaction(): void {
    this.#inTransaction = false;
    if (!this.#authDeferred) return;
    this.#authDeferred = false;
    const current = this.#group.current();
    if (current !== undefined) this.#reauthenticate(current);
  }

  #listen(event: string, handler: (...args: any[]) => void): void {
    this.#redis.on(event, handler);
    this.#restore.push(() => {
      this.#redis.off(event, handler);
    });
  }

  #target(): string {
    const { host, port, sentinels, name } = this.#redis.options;
    return sentinels ? `sentinel master "${name}"` : `${host ?? "localhost"}:${port ?? 6379}`;
  }
}
