import {
  type CredentialSource,
  createTokenManager,
  credentialsFromJwt,
  type FetchReason,
  type RefreshedEvent,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import {
  type ConnectionStats,
  createTokenIssuer,
  startTokenRedis,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import * as redis from "redis";
import type { CreateClientOptions } from "../../src";
import { type Fixture, fastRotation, sleep, TOKEN_LIFETIME_MS } from "./helpers";

/*
 * Helpers shared by the node-redis rejections, transactions, blocking, load and BullMQ tests.
 */

let objectIds = 0;

/** A token-enforcing Redis (plain TCP) whose tokens come from `issuer`, for its own identity. */
async function startSharedFixture(issuer: TokenIssuer): Promise<Fixture> {
  const server = await startTokenRedis({ identity: issuer, tls: false });
  const objectId = `00000000-0000-4000-9000-${String(++objectIds).padStart(12, "0")}`;
  const managers: TokenManager[] = [];
  const source = (lifetimeMs = TOKEN_LIFETIME_MS): CredentialSource => ({
    name: "test-issuer",
    fetch: async () => credentialsFromJwt(issuer.issueToken({ objectId, lifetimeMs })),
  });
  return {
    issuer,
    server,
    objectId,
    source,
    manager({ lifetimeMs, ...options } = {}) {
      const manager = createTokenManager(source(lifetimeMs), { ...fastRotation, ...options });
      managers.push(manager);
      return manager;
    },
    redisOptions: (extra = {}) => ({
      host: server.host,
      port: server.port,
      allowInsecureTransport: true,
      ...extra,
    }),
    async stop() {
      await Promise.all(managers.map((manager) => manager.dispose()));
      await server.stop();
    },
  };
}

/**
 * Fixtures started before a file's tests, one per test, all trusting one token issuer: creating
 * an issuer generates an RSA key pair synchronously (up to a second or more on a loaded machine),
 * which, done by a test starting late, would stall the event loop of every test already running
 * in the same worker and make their AUTHs late. Each test takes its own and stops it; whatever is
 * left is stopped after the file.
 */
export function fixturesBeforeAll(count: number): { take(): Fixture } {
  const ready: Fixture[] = [];
  const all: Fixture[] = [];
  beforeAll(async () => {
    const issuer = createTokenIssuer();
    const started = await Promise.allSettled(
      Array.from({ length: count }, () => startSharedFixture(issuer)),
    );
    for (const result of started) if (result.status === "fulfilled") all.push(result.value);
    ready.push(...all);
    for (const result of started) if (result.status === "rejected") throw result.reason;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(all.map((fixture) => fixture.stop()));
  });
  return {
    take() {
      const fixture = ready.shift();
      if (fixture === undefined) throw new Error(`only ${count} fixtures were started`);
      return fixture;
    },
  };
}

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

/** A user name Redis does not know: the token verifies, the token-enforcing Redis answers WRONGPASS. */
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
export function managerFor(
  source: CredentialSource,
  options: TokenManagerOptions = {},
): TokenManager {
  return createTokenManager(source, { ...fastRotation, ...options });
}

/** A manager of tokens for another identity (`objectId`) than the fixture's own, on its issuer. */
export function otherIdentity(
  fixture: Fixture,
  objectId: string,
  lifetimeMs = TOKEN_LIFETIME_MS,
): TokenManager {
  return managerFor({
    name: `user-${objectId.slice(-4)}`,
    fetch: async () => credentialsFromJwt(fixture.issuer.issueToken({ objectId, lifetimeMs })),
  });
}

/** `createClient` options that reach the fixture's server (plain TCP: a local test server). */
export function clientOptions(
  fixture: Fixture,
  extra: Omit<CreateClientOptions, "socket"> & { socket?: Record<string, unknown> } = {},
): CreateClientOptions {
  const { socket, ...rest } = extra;
  const tls =
    fixture.server.ca === undefined
      ? {}
      : { tls: true as const, ca: fixture.server.ca, servername: "localhost" };
  return {
    ...rest,
    socket: { host: fixture.server.host, port: fixture.server.port, ...tls, ...socket },
    ...(fixture.server.ca === undefined && { allowInsecureTransport: true }),
  } as CreateClientOptions;
}

/** Anything with node-redis's `isOpen` and `destroy()`: a client, a pool, a cluster. */
interface Closable {
  readonly isOpen: boolean;
  destroy(): unknown;
}

/** Closes `client` if it is open: node-redis 5's destroy() throws ClientClosedError otherwise. */
export function closeClient(client: Closable | undefined): void {
  if (client?.isOpen) client.destroy();
}

/** Every `error` the emitter emits, in order (listening also keeps node-redis from throwing). */
export function collectErrors(emitter: {
  on(event: "error", listener: (error: Error) => void): unknown;
}): Error[] {
  const errors: Error[] = [];
  emitter.on("error", (error: Error) => errors.push(error));
  return errors;
}

/**
 * What node-redis reports when the server closes a connection: `SocketClosedUnexpectedlyError`
 * after a clean close, the socket's ECONNRESET when the close raced bytes in flight.
 */
export function isConnectionLost(error: unknown): boolean {
  return (
    error instanceof redis.SocketClosedUnexpectedlyError ||
    (error as { code?: unknown } | undefined)?.code === "ECONNRESET"
  );
}

/** The name and message of each error, for assertion messages. */
export function describeErrors(errors: unknown[]): string[] {
  return errors.map((error) =>
    error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error),
  );
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

/**
 * Resolves once the manager's next fan-out of new credentials reaches a subscriber added now. The
 * manager hands them to its subscribers in the order they subscribed (each at a random point of
 * its own slice of reauthSpreadMs), so every connection subscribed earlier has had them by then.
 */
export function nextDelivery(manager: TokenManager): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe = manager.subscribe(() => {
      unsubscribe();
      resolve();
    });
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
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(10);
  }
}

/** The one live connection of `user` on `server` (undefined when there is none). */
export function connectionOf(server: TokenRedis, user: string): ConnectionStats | undefined {
  const mine = server.connections().filter((connection) => connection.user === user);
  if (mine.length > 1) throw new Error(`${mine.length} connections of ${user}, expected one`);
  return mine[0];
}

/** AUTHs the server refused, for any reason. */
export function rejectedAuths(server: TokenRedis): number {
  return Object.values(server.stats().authRejected).reduce((sum, count) => sum + count, 0);
}

/** Loops not stopped yet: a test that failed half way leaves its loops here. */
const runningLoops = new Set<{ stop(): Promise<void> }>();

// A failed test skips its own `stop()`: its loops would go on spinning on closed clients (an
// error per turn, every one kept) for the rest of the jest worker's life, starving the files
// that run after it in that worker. Stop them when the file ends.
afterAll(async () => {
  await Promise.all([...runningLoops].map((loop) => loop.stop()));
});

/**
 * Runs `step` in a loop until `stop()`: counts the calls that resolved and keeps every error, so
 * that a test can assert on what failed.
 */
export function runLoop(step: (iteration: number) => Promise<unknown>) {
  const errors: unknown[] = [];
  let succeeded = 0;
  let stopped = false;
  const done = (async () => {
    for (let iteration = 0; !stopped; iteration++) {
      try {
        await step(iteration);
        succeeded++;
      } catch (error) {
        errors.push(error);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const loop = {
    errors,
    get succeeded() {
      return succeeded;
    },
    async stop() {
      stopped = true;
      runningLoops.delete(loop);
      await done;
    },
  };
  runningLoops.add(loop);
  return loop;
}

/** One line of figures on stderr, only when REDIS_CREDENTIALS_FIGURES is set. */
export function report(label: string, figures: Record<string, unknown>): void {
  if (!process.env.REDIS_CREDENTIALS_FIGURES) return;
  process.stderr.write(`[figures] ${label}: ${JSON.stringify(figures)}\n`);
}

/** CRC16/XMODEM, the hash Redis Cluster slots keys with. */
function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** The cluster slot of `key` (hash tags included). */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % 16384;
}

/** One hash tag per shard of a cluster of `shards` equal slices (shard `i` serves the i-th). */
export function tagsInEveryShard(prefix: string, shards: number): string[] {
  const tags: (string | undefined)[] = Array.from({ length: shards }, () => undefined);
  for (let n = 0; tags.some((tag) => tag === undefined); n++) {
    const tag = `${prefix}:${n}`;
    const shard = Math.min(shards - 1, Math.floor((keySlot(tag) * shards) / 16384));
    tags[shard] ??= tag;
  }
  return tags as string[];
}
