import { randomUUID } from "node:crypto";
import {
  createTokenManager,
  credentialsFromJwt,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import type { ConnectionStats, TokenCluster, TokenIssuer } from "@redis-credentials/testing";
import type { Cluster, ClusterNode } from "ioredis";
import type { CreateClusterOptions } from "../../src";
import { type Fixture, fastRotation, rotations, sleep, TOKEN_LIFETIME_MS } from "./helpers";

/** The cluster of a fixture started with `startFixture({ cluster })`. */
export function clusterOf(fixture: Fixture): TokenCluster {
  return fixture.server as TokenCluster;
}

/** Where a cluster client starts: the seed node only, so it learns every other node from the cluster. */
export function seedNodes(fixture: Fixture): ClusterNode[] {
  return [{ host: fixture.server.host, port: fixture.server.port }];
}

/**
 * `createCluster` options that reach the fixture: TLS (trusting its CA) when it has it, plainly
 * with `allowInsecureTransport` otherwise. A bounded `clusterRetryStrategy`, so a test never waits
 * on ioredis' default backoff.
 */
export function clusterOptions(
  fixture: Fixture,
  extra: CreateClusterOptions = {},
): CreateClusterOptions {
  const { host: _host, port: _port, allowInsecureTransport, ...transport } = fixture.redisOptions();
  return {
    clusterRetryStrategy: (times) => Math.min(50 * times, 500),
    ...extra,
    ...(allowInsecureTransport !== undefined && { allowInsecureTransport }),
    redisOptions: { ...transport, ...extra.redisOptions },
  };
}

/**
 * Managers for users of their own (one object id each), so that tests sharing a server can tell
 * their connections apart (`connections().filter(c => c.user === user)`) and kill only theirs.
 */
export class Users {
  readonly #managers: TokenManager[] = [];

  constructor(private readonly issuer: TokenIssuer) {}

  /** A new user and a manager of its tokens (fast rotation unless `options` says otherwise). */
  create(options: TokenManagerOptions & { lifetimeMs?: number } = {}): {
    user: string;
    manager: TokenManager;
  } {
    const { lifetimeMs = TOKEN_LIFETIME_MS, ...managerOptions } = options;
    const user = randomUUID();
    const manager = createTokenManager(
      {
        name: `user-${user.slice(0, 8)}`,
        fetch: async () =>
          credentialsFromJwt(this.issuer.issueToken({ objectId: user, lifetimeMs })),
      },
      { ...fastRotation, ...managerOptions },
    );
    this.#managers.push(manager);
    return { user, manager };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#managers.splice(0).map((manager) => manager.dispose()));
  }
}

/** The live connections of one user on the fixture's server(s). */
export function connectionsOf(fixture: Fixture, user: string): ConnectionStats[] {
  return fixture.server.connections().filter((connection) => connection.user === user);
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

/**
 * `perShard` keys in each of the `shards` equal slices of the slot space (the fixture gives shard
 * `i` the i-th slice), named `prefix:n`.
 */
export function keysInEveryShard(prefix: string, shards: number, perShard: number): string[][] {
  const byShard: string[][] = Array.from({ length: shards }, () => []);
  for (let n = 0; byShard.some((keys) => keys.length < perShard); n++) {
    const key = `${prefix}:${n}`;
    const shard = Math.min(shards - 1, Math.floor((keySlot(key) * shards) / 16384));
    if (byShard[shard]!.length < perShard) byShard[shard]!.push(key);
  }
  return byShard;
}

/** The port of the master that serves `slot`, as the cluster itself says (CLUSTER SLOTS). */
export async function masterPortOf(cluster: Cluster, slot: number): Promise<number> {
  const ranges = await cluster.cluster("SLOTS");
  const master = ranges.find(([start, end]) => start <= slot && slot <= end)?.[2];
  if (master === undefined) throw new Error(`No master serves slot ${slot}`);
  return Number(master[1]);
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
 * a test can assert that none failed.
 */
export function runLoop(step: (iteration: number) => Promise<unknown>, pauseMs = 0) {
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
      if (pauseMs > 0) await sleep(pauseMs);
      else await new Promise((resolve) => setImmediate(resolve));
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

/** Resolves after `count` rotations, plus the time for their staggered AUTHs to land. */
export async function afterRotations(manager: TokenManager, count: number): Promise<void> {
  await rotations(manager, count);
  await sleep((fastRotation.reauthSpreadMs ?? 0) + 300);
}

/** Compact description of errors for assertion messages (never a token: errors carry none). */
export function describeErrors(errors: unknown[]): string[] {
  return errors.map((error) =>
    error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error),
  );
}

/** One line of figures on stderr (jest leaves it alone), for the record of a run. */
export function report(label: string, figures: Record<string, unknown>): void {
  if (process.env.REDIS_CREDENTIALS_FIGURES !== "1") return;
  process.stderr.write(`[figures] ${label}: ${JSON.stringify(figures)}\n`);
}
