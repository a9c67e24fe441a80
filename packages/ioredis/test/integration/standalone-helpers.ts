import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  type CredentialSource,
  createTokenManager,
  credentialsFromJwt,
  type FetchReason,
  type RefreshedEvent,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import type { TokenRedis } from "@redis-credentials/testing";
import { Redis, type RedisOptions } from "ioredis";
import { type BindOptions, bindCredentials, type CredentialsBinding } from "../../src";
import { type Fixture, fastRotation, TOKEN_LIFETIME_MS } from "./helpers";

/** What a {@link SwitchableSource} hands out: good tokens, valid tokens for another user, or errors. */
export type SourceMode = "ok" | "wrong-user" | "wrong-once" | "fail";

/** A source for the fixture's identity whose behaviour a test switches while clients run. */
export interface SwitchableSource extends CredentialSource {
  /** `wrong-once`: the next fetch names the wrong user, then the mode turns back to `ok`. */
  mode: SourceMode;
  /** The reason of every fetch, in order. */
  readonly fetches: FetchReason[];
  /** Fetches with this reason (all of them without one). */
  count(reason?: FetchReason): number;
}

/** The user name Redis does not know: the token verifies, the proxy answers WRONGPASS. */
export const WRONG_USER = "00000000-0000-4000-8000-0000deadbeef";

export function switchableSource(
  fixture: Fixture,
  mode: SourceMode = "ok",
  lifetimeMs = TOKEN_LIFETIME_MS,
): SwitchableSource {
  const fetches: FetchReason[] = [];
  return {
    name: "switchable-issuer",
    mode,
    fetches,
    count: (reason) => fetches.filter((each) => reason === undefined || each === reason).length,
    async fetch({ reason }) {
      fetches.push(reason);
      if (this.mode === "fail") throw new Error("the identity provider is down (test)");
      const wrong = this.mode !== "ok";
      if (this.mode === "wrong-once") this.mode = "ok";
      const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs });
      return credentialsFromJwt(token, wrong ? { username: WRONG_USER } : {});
    },
  };
}

/** A fast-rotating manager for `source`; the caller disposes it. */
export function managerFor(source: CredentialSource, options: TokenManagerOptions = {}) {
  return createTokenManager(source, { ...fastRotation, ...options });
}

/** Splits the fixture's options into ioredis options and the adapter's bind options. */
export function splitOptions(options: RedisOptions & { allowInsecureTransport?: boolean }): {
  redisOptions: RedisOptions;
  bindOptions: BindOptions;
} {
  const { allowInsecureTransport, ...redisOptions } = options;
  return {
    redisOptions,
    bindOptions: allowInsecureTransport === undefined ? {} : { allowInsecureTransport },
  };
}

/** A client built with `lazyConnect: true` and bound to `manager` (not connected yet). */
export function lazyBoundClient(
  fixture: Fixture,
  manager: TokenManager,
  extra: RedisOptions = {},
): { redis: Redis; binding: CredentialsBinding } {
  const { redisOptions, bindOptions } = splitOptions(
    fixture.redisOptions({ ...extra, lazyConnect: true }),
  );
  const redis = new Redis(redisOptions);
  const binding = bindCredentials(redis, manager, bindOptions);
  return { redis, binding };
}

/**
 * Every error the emitter emits on `events`, in order. Listening to `error` also keeps ioredis and
 * node-redis from throwing on an unhandled one.
 */
export function collectErrors(
  emitter: { on(event: string, listener: (...args: any[]) => void): unknown },
  events: string[] = ["error"],
): Error[] {
  const errors: Error[] = [];
  for (const event of events) emitter.on(event, (error: Error) => errors.push(error));
  return errors;
}

/** Resolves with the next `refreshed` event of `manager`. */
export function nextRefresh(manager: TokenManager): Promise<RefreshedEvent> {
  return new Promise((resolve) => {
    const onRefreshed = (event: RefreshedEvent) => {
      manager.off("refreshed", onRefreshed);
      resolve(event);
    };
    manager.on("refreshed", onRefreshed);
  });
}

/** Polls `predicate` every 10 ms; rejects, naming `what`, after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** AUTHs the server refused because the token had expired. */
export function expiredAuths(server: TokenRedis): number {
  return server.stats().authRejected.expired ?? 0;
}

/** AUTHs the server refused for any reason. */
export function rejectedAuths(server: TokenRedis): number {
  return Object.values(server.stats().authRejected).reduce((sum, count) => sum + count, 0);
}

/** The server's view of the connection whose client side is `redis` (by its local port). */
export function serverConnection(server: TokenRedis, redis: Redis) {
  const port = (redis as unknown as { stream?: { localPort?: number } }).stream?.localPort;
  return server.connections().find((connection) => connection.clientPort === port);
}

/**
 * Runs the Node.js `script` in `cwd` as a child process that reaches the fixture's server with a
 * token for its identity (REDIS_HOST, REDIS_PORT, REDIS_TOKEN), and waits for it to exit by
 * itself: it is killed after 15 s, which the caller sees as `signal`.
 */
export async function runScriptAgainst(fixture: Fixture, script: string, cwd: string) {
  // A token that outlives the test: the child has no issuer of its own.
  const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs: 60_000 });
  const child = spawn(process.execPath, [script], {
    cwd,
    env: {
      PATH: process.env.PATH,
      REDIS_HOST: fixture.server.host,
      REDIS_PORT: String(fixture.server.port),
      REDIS_TOKEN: token,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [code, signal] = await exited.finally(() => clearTimeout(guard));
  return { code, signal, stdout, stderr, exitedAt: Date.now() };
}
