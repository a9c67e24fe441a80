import type { TokenManager } from "@redis-credentials/core";
import type { ConnectionStats, TokenRedis } from "@redis-credentials/testing";
import { withStallNote } from "./stalls";
import { waitFor } from "./waiting";

/*
 * What the token-enforcing server saw: its connections and AUTH counters, read the same way
 * whichever client library made the connections.
 */

/** AUTHs the server refused because the token had expired. */
export function expiredAuths(server: TokenRedis): number {
  return server.stats().authRejected.expired ?? 0;
}

/** AUTHs the server refused for any reason. */
export function rejectedAuths(server: TokenRedis): number {
  return Object.values(server.stats().authRejected).reduce((sum, count) => sum + count, 0);
}

/** The live connections of one user on `server` (every node of a cluster). */
export function connectionsOf(server: TokenRedis, user: string): ConnectionStats[] {
  return server.connections().filter((connection) => connection.user === user);
}

/** The one live connection of `user` on `server` (undefined when there is none). */
export function connectionOf(server: TokenRedis, user: string): ConnectionStats | undefined {
  const mine = server.connections().filter((connection) => connection.user === user);
  if (mine.length > 1) throw new Error(`${mine.length} connections of ${user}, expected one`);
  return mine[0];
}

/** AUTHs (and HELLO ... AUTH) the server received, per live connection id. */
export function authsByConnection(server: TokenRedis): Map<number, number> {
  return new Map(
    server.connections().map((connection) => [connection.id, connection.authAttempts]),
  );
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
