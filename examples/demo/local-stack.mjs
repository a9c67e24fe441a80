// Everything the local demo runs on this machine, from @redis-credentials/testing:
//   - the identity emulator: a local Microsoft Entra ID that issues 20-second tokens to a
//     registered app (a service principal with a client secret);
//   - a token-enforcing Redis over TLS: it accepts only the emulator's tokens as passwords and
//     closes any connection whose token has expired, as Azure Managed Redis does;
//   - a 3-master Redis Cluster of the same kind.
// Nothing here talks to the internet: the credential trusts the emulator's CA for its own
// requests only, and the clients trust the servers' CAs.
import { ClientSecretCredential } from "@azure/identity";
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
    idp,
    credential,
    standalone: { host: redis.host, port: redis.port, ca: redis.ca },
    cluster: { nodes: cluster.nodes, ca: cluster.ca },
    /** The servers' own view: AUTHs they accepted, connections they closed at expiry. */
    serverStats() {
      const a = redis.stats();
      const b = cluster.stats();
      return {
        authSuccesses: a.authSuccesses + b.authSuccesses,
        authRejected: sum(a.authRejected) + sum(b.authRejected),
        closedAtExpiry: a.closedAtExpiry + b.closedAtExpiry,
        connections: a.connections + b.connections,
      };
    },
    /** The emulator's counters: tokens it issued, token requests by outcome ("ok", "hung"). */
    tokenStats() {
      const { tokensIssued, requests } = idp.stats();
      const { discovery, ...outcomes } = requests; // discovery: MSAL's metadata requests
      return { tokensIssued, outcomes };
    },
    async stop() {
      await Promise.allSettled([redis.stop(), cluster.stop()]);
      await idp.stop();
    },
  };
}

const sum = (table) => Object.values(table).reduce((total, n) => total + n, 0);
