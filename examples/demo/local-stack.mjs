// Everything the local demo runs on this machine, from @redis-credentials/testing:
//   - the identity emulator: a local Microsoft Entra ID that issues 20-second tokens to a
//     registered app (a service principal with a client secret);
//   - a token-enforcing Redis over TLS: it accepts only the emulator's tokens as passwords and
//     closes any connection whose token has expired, as Azure Managed Redis does;
//   - a 3-master Redis Cluster of the same kind.
// Nothing here talks to the internet: the credential trusts the emulator's CA for its own
// requests only, and the clients trust the servers' CAs.
import { ClientSecretCredential } from "@azure/identity";
import { entraId } from "@redis-credentials/entra-id";
import { startIdentityEmulator, startTokenRedis } from "@redis-credentials/testing";

export const TOKEN_LIFETIME_MS = 20_000;

export async function startLocalStack() {
  // Generates its RSA signing key synchronously: about a second of a frozen event loop.
  const idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  const app = idp.registerClient();
  let redis;
  let cluster;
  try {
    [redis, cluster] = await Promise.all([
      startTokenRedis({ identity: idp }),
      startTokenRedis({ identity: idp, cluster: { masters: 3 } }),
    ]);
  } catch (error) {
    await Promise.allSettled([redis?.stop(), cluster?.stop(), idp.stop()]);
    throw error;
  }

  const credential = new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret, {
    authorityHost: idp.authorityHost,
    // Else MSAL first asks login.microsoftonline.com whether 127.0.0.1 is a known authority.
    disableInstanceDiscovery: true,
    tlsOptions: { ca: idp.ca },
  });

  return {
    mode: "local: identity emulator + token Redis",
    source: entraId({ credential }),
    faults: idp.faults,
    standalone: { host: redis.host, port: redis.port, ca: redis.ca },
    cluster: { nodes: cluster.nodes, ca: cluster.ca },
    /** The servers' own view: AUTHs they accepted, connections they closed at expiry. */
    serverStats: () => serverStats([redis, cluster], "closedAtExpiry", "closed at token expiry"),
    /** The emulator's counters: tokens it issued, token requests by outcome ("ok", "hung"). */
    describeTokens(received) {
      const { tokensIssued, requests } = idp.stats();
      const { discovery, ...outcomes } = requests; // discovery: MSAL's metadata requests
      return describeEmulator({ tokensIssued, outcomes }, received);
    },
    async stop() {
      await Promise.allSettled([redis.stop(), cluster.stop()]);
      await idp.stop();
    },
  };
}

/**
 * The servers' counters added up: AUTHs accepted and rejected, live connections, and the
 * connections a server closed (`closedKey`: at token expiry, or at the AWS lifetime limit).
 */
export function serverStats(servers, closedKey, closedWhen) {
  const total = (pick) => servers.reduce((sum, server) => sum + pick(server.stats()), 0);
  return {
    authSuccesses: total((s) => s.authSuccesses),
    authRejected: total((s) => Object.values(s.authRejected).reduce((sum, n) => sum + n, 0)),
    closed: total((s) => s[closedKey]),
    closedWhen,
    connections: total((s) => s.connections),
  };
}

/**
 * Tokens issued and token requests by outcome, as the emulator counted them. It can issue more
 * tokens than the manager received: a request the manager gave up on (fetchTimeoutMs) goes on
 * inside the credential, and is answered once the outage is over.
 */
export function describeEmulator({ tokensIssued, outcomes }, received) {
  const requests = Object.entries(outcomes)
    .map(([outcome, n]) => `${outcome} ${n}`)
    .join(", ");
  const abandoned = tokensIssued - received;
  return (
    `the emulator issued ${tokensIssued} tokens (token requests: ${requests})` +
    (abandoned > 0 ? `, ${abandoned} of them to requests the manager had abandoned` : "")
  );
}
