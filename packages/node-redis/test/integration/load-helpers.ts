import { credentialsFromJwt, type TokenManager } from "@redis-credentials/core";
import {
  type ConnectionStats,
  createTokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import * as redis from "redis";
import { keySlot } from "../../../ioredis/test/integration/cluster-helpers";
import { managerFor } from "../../../ioredis/test/integration/standalone-helpers";
import type { CreateClientOptions } from "../../src";
import { type Fixture, startFixture, TOKEN_LIFETIME_MS } from "./helpers";

// What does not depend on the client library: the ioredis suite's helpers.
export {
  describeErrors,
  keySlot,
  report,
  runLoop,
} from "../../../ioredis/test/integration/cluster-helpers";
export {
  collectErrors,
  managerFor,
  nextRefresh,
  rejectedAuths,
  type SourceMode,
  type SwitchableSource,
  switchableSource,
  WRONG_USER,
  waitFor,
} from "../../../ioredis/test/integration/standalone-helpers";

/*
 * Helpers shared by the node-redis rejections, transactions, blocking, load and BullMQ tests.
 */

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
      Array.from({ length: count }, () => startFixture({ issuer })),
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

/** The one live connection of `user` on `server` (undefined when there is none). */
export function connectionOf(server: TokenRedis, user: string): ConnectionStats | undefined {
  const mine = server.connections().filter((connection) => connection.user === user);
  if (mine.length > 1) throw new Error(`${mine.length} connections of ${user}, expected one`);
  return mine[0];
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
