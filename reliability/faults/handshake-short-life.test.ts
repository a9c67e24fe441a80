import type { ConnectionStats } from "@redis-credentials/testing";
import {
  alignRotations,
  type FaultClient,
  faultEnvironmentBeforeAll,
  forEachClient,
  reportWorkload,
  sleepUntil,
  startClients,
  startWorkload,
} from "./harness";

// Connections drop while the token held has only moments of life left (less than the manager's
// minHandshakeLifetimeMs), its scheduled refresh not due yet. The reconnect must not present
// that token, which could expire in the middle of the handshake: it waits for a fresh one, which
// the manager fetches at once. Nothing may then be closed at expiry.
const LIFETIME_MS = 8_000;
const MIN_HANDSHAKE_LIFETIME_MS = 3_000;
/** The token's life left when its connections are dropped: under MIN_HANDSHAKE_LIFETIME_MS. */
const LEFT_AT_DROP_MS = 2_000;

const environment = faultEnvironmentBeforeAll();

test("a handshake when the token held has less than minHandshakeLifetimeMs left waits for a fresh one", async () => {
  const env = environment();
  const clients = await startClients(env, {
    lifetimeMs: LIFETIME_MS,
    manager: {
      // The scheduled refresh comes late, at 90 % of the life (0.8 s left): the drop at 2 s left
      // finds no refresh under way.
      refreshRatio: 0.9,
      refreshBeforeExpiryMs: 500,
      minHandshakeLifetimeMs: MIN_HANDSHAKE_LIFETIME_MS,
    },
  });
  try {
    const workloads = clients.map((client) => startWorkload(client));
    await alignRotations(clients);
    const watches = clients.map((client) => watchCloses(client));
    const drops = await Promise.all(
      clients.map(async (client) => {
        const expiresAt = client.manager.status().expiresAt!;
        await sleepUntil(expiresAt - LEFT_AT_DROP_MS);
        const at = Date.now();
        watches[clients.indexOf(client)]!.killed(client.connections());
        return { at, expiresAt, count: client.killConnections() };
      }),
    );
    // Past the expiry of the token held at the drop, and the AUTHs of its rotation settled.
    await sleepUntil(Math.max(...drops.map((drop) => drop.expiresAt)) + 1_500);

    await forEachClient(clients, async (client) => {
      const index = clients.indexOf(client);
      const drop = drops[index]!;
      const closedAtExpiry = watches[index]!.stop();
      const figures = await workloads[index]!.stop();
      const handshakes = env
        .auths()
        .filter((auth) => auth.user === client.user && auth.at >= drop.at && !auth.reauth);
      const leastLeft = Math.min(...handshakes.map((auth) => auth.remainingMs));
      const fetched = client.source.attemptsSince(drop.at)[0];
      reportWorkload("handshake-short-life", figures, {
        dropped: drop.count,
        handshakes: handshakes.length,
        leastLifeAtHandshakeMs: leastLeft,
        closedAtExpiry,
        freshTokenAfterMs: fetched?.settledAt === undefined ? null : fetched.settledAt - drop.at,
      });
      expect(drop.count).toBeGreaterThan(0);
      expect(handshakes.length).toBeGreaterThan(0);
      expect(figures.failures).not.toHaveProperty("CommandHangError");
      expect(figures).toMatchObject({ lost: 0, unverified: 0 });
      expect(handshakes.every((auth) => auth.outcome === "ok")).toBe(true);
      if (client.adapter === "valkey-glide") {
        // GLIDE reconnects by itself with the password it holds: the adapter cannot make its
        // handshake wait. Asserted as it is: the held token, still valid.
        expect(leastLeft).toBeLessThan(MIN_HANDSHAKE_LIFETIME_MS);
        expect(leastLeft).toBeGreaterThan(0);
        return;
      }
      // Every reconnect presented a fresh token, fetched at once for it, not the one about to
      // expire (server-side time, so a little under the manager's limit at worst).
      expect(leastLeft).toBeGreaterThanOrEqual(MIN_HANDSHAKE_LIFETIME_MS - 300);
      expect(fetched).toMatchObject({ outcome: "ok" });
      expect(closedAtExpiry).toBe(0);
      expect(figures.failed).toBeLessThanOrEqual(drop.count);
    });
  } finally {
    await clients.close();
  }
}, 90_000);

/**
 * Watches a client's connections (every 25 ms) and counts those that went away at their
 * deadline (the token's expiry), not killed by the test.
 */
function watchCloses(client: FaultClient) {
  const seen = new Map<number, ConnectionStats>();
  const killed = new Set<number>();
  let closedAtExpiry = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    const live = new Set<number>();
    for (const connection of client.connections()) {
      live.add(connection.id);
      seen.set(connection.id, connection);
    }
    for (const [id, connection] of seen) {
      if (live.has(id)) continue;
      seen.delete(id);
      const deadline = connection.expiresAt ?? Number.POSITIVE_INFINITY;
      if (!killed.has(id) && now >= deadline - 50) closedAtExpiry++;
    }
  }, 25);
  return {
    killed: (connections: ConnectionStats[]) => {
      for (const connection of connections) killed.add(connection.id);
    },
    stop: () => {
      clearInterval(timer);
      return closedAtExpiry;
    },
  };
}
