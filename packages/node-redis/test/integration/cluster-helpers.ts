import { monitorEventLoopDelay } from "node:perf_hooks";
import type { TokenManager } from "@redis-credentials/core";
import type { ConnectionStats, TokenCluster, TokenRedis } from "@redis-credentials/testing";
import { describeErrors } from "../../../ioredis/test/integration/cluster-helpers";
import { waitFor } from "../../../ioredis/test/integration/standalone-helpers";
import type { CreateClusterOptions } from "../../src";
import { type Fixture, fastRotation, rotations, sleep } from "./helpers";

// What does not depend on the client library: the ioredis suite's helpers.
export {
  afterRotations,
  describeErrors,
  keySlot,
  keysInEveryShard,
  report,
  runLoop,
  Users,
} from "../../../ioredis/test/integration/cluster-helpers";
export { collectErrors, waitFor } from "../../../ioredis/test/integration/standalone-helpers";

/** How long after a rotation its staggered AUTHs (or reconnects) have all landed. */
export const SETTLE_MS = (fastRotation.reauthSpreadMs ?? 0) + 300;

/** `createCluster` options of any RESP version, modules and type mapping. */
export type AnyClusterOptions = CreateClusterOptions<any, any, any, any, any>;

/** The cluster of a fixture started with `startFixture({ cluster })`. */
export function clusterOf(fixture: Fixture): TokenCluster {
  return fixture.server as TokenCluster;
}

/** node-redis socket options that reach the fixture: TLS trusting its CA when it has one. */
export function socketOptions(server: TokenRedis): {
  tls?: true;
  ca?: string;
} {
  return server.ca === undefined ? {} : { tls: true, ca: server.ca };
}

/**
 * `createCluster` options for the fixture's cluster: the seed node only (node-redis learns every
 * other node from CLUSTER SLOTS, which announces the proxies), TLS when the fixture has it,
 * `allowInsecureTransport` otherwise.
 */
export function clusterOptions(
  server: TokenRedis,
  extra: Partial<AnyClusterOptions> = {},
): AnyClusterOptions {
  const socket = socketOptions(server);
  return {
    ...extra,
    rootNodes: [{ socket: { host: server.host, port: server.port } }],
    defaults: { ...extra.defaults, socket: { ...socket, ...extra.defaults?.socket } },
    ...(socket.tls === undefined && { allowInsecureTransport: true }),
  };
}

/** The live connections of one user on `server` (every node of a cluster). */
export function connectionsOf(server: TokenRedis, user: string): ConnectionStats[] {
  return server.connections().filter((connection) => connection.user === user);
}

/**
 * Waits for the next rotation of `manager` and for its staggered AUTHs to land: a quiet moment,
 * about a rotation's length before the next one, to snapshot the server's counters.
 */
export async function quietAfterRotation(manager: TokenManager): Promise<void> {
  await rotations(manager, 1);
  await sleep(SETTLE_MS);
}

/**
 * Waits until `user` has exactly `count` connections on `server` and every one of them holds the
 * manager's current token (its deadline is that token's expiry): the rotation's AUTHs, and the
 * reconnects of RESP2 subscribers, are all done. On a loaded machine they can take longer than
 * SETTLE_MS (a reconnect over TLS, through the in-process proxy, took up to 300 ms).
 */
export async function untilAllHoldCurrentToken(
  server: TokenRedis,
  user: string,
  manager: TokenManager,
  count: number,
): Promise<ConnectionStats[]> {
  let connections: ConnectionStats[] = [];
  await waitFor(() => {
    const expiresAt = manager.status().expiresAt;
    connections = connectionsOf(server, user);
    return (
      connections.length === count &&
      connections.every((connection) => connection.expiresAt === expiresAt)
    );
  }, `${count} connections of ${user} holding the current token`);
  return connections;
}

/** A snapshot of connections (by server-side id) to compare AUTH counts across rotations. */
export type Snapshot = Map<number, ConnectionStats>;

export function snapshot(connections: ConnectionStats[]): Snapshot {
  return new Map(connections.map((connection) => [connection.id, connection]));
}

/**
 * What each connection of `before` got between the two snapshots: whether it is still there (the
 * same server-side connection) and how many AUTHs it sent and had accepted meanwhile.
 */
export function authsBetween(before: Snapshot, after: ConnectionStats[]) {
  const now = snapshot(after);
  return [...before.values()].map((then) => {
    const later = now.get(then.id);
    return {
      id: then.id,
      port: then.port,
      survived: later !== undefined,
      attempts: later === undefined ? 0 : later.authAttempts - then.authAttempts,
      successes: later === undefined ? 0 : later.authSuccesses - then.authSuccesses,
    };
  });
}

/** Counts the manager's rotations from now on (`stop()` ends counting). */
export function countRotations(manager: TokenManager) {
  const at: number[] = [];
  const onRefreshed = () => at.push(Date.now());
  manager.on("refreshed", onRefreshed);
  return {
    at,
    stop: () => manager.off("refreshed", onRefreshed),
  };
}

/*
 * Tokens live 3 s and are renewed 1 s before they expire: a test process whose event loop stalls
 * for about a second (a machine loaded far beyond its cores) misses the deadline whatever the
 * adapter does. The clients and the token-enforcing proxies share this process, so its longest
 * stall is told along with a failure, to tell such a run from an adapter bug.
 */
const eventLoopDelay = monitorEventLoopDelay({ resolution: 20 });
eventLoopDelay.enable();

/** The longest event-loop stall of this test process so far, in ms. */
export function longestStallMs(): number {
  return Math.round(eventLoopDelay.max / 1e6);
}

/** Runs `assertion`, adding the process's longest event-loop stall to its failure message. */
export function withStallNote(assertion: () => void): void {
  try {
    assertion();
  } catch (error) {
    if (error instanceof Error) {
      error.message += `\n(longest event-loop stall of this test process: ${longestStallMs()} ms)`;
    }
    throw error;
  }
}

/** Expects no error (their messages are shown otherwise, with the longest stall). */
export function expectNoErrors(errors: unknown[]): void {
  withStallNote(() => expect(describeErrors(errors)).toEqual([]));
}

/** Expects the server never closed a connection at expiry nor saw a token it refused or did not apply. */
export function expectCleanServer(server: TokenRedis): void {
  const { closedAtExpiry, authRejected, authNotApplied } = server.stats();
  withStallNote(() =>
    expect({ closedAtExpiry, authRejected, authNotApplied }).toEqual({
      closedAtExpiry: 0,
      authRejected: {},
      authNotApplied: {},
    }),
  );
}
