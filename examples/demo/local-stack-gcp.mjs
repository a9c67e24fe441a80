// The local demo's Google Cloud variant (`--emulate gcp`), from @redis-credentials/testing:
//   - the identity emulator as a Compute Engine metadata server: google-auth-library's
//     Application Default Credentials find it through GCE_METADATA_HOST, as they find the real
//     one on GCE, GKE and Cloud Run, and get 20-second access tokens from it;
//   - a token-enforcing Redis over TLS in GCP mode (a server and a 3-master cluster): user
//     `default` only, each access token checked at AUTH, connections outliving their token, as
//     Memorystore for Valkey and for Redis Cluster do.
// gcpIam() runs with its defaults; nothing leaves the machine.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gcpIam } from "@redis-credentials/gcp-iam";
import { startIdentityEmulator, startTokenRedis } from "@redis-credentials/testing";
import { describeEmulator, serverStats } from "./local-stack.mjs";

export const TOKEN_LIFETIME_MS = 20_000;

export async function startLocalGcpStack() {
  const idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  let redis;
  let cluster;
  try {
    [redis, cluster] = await Promise.all([
      startTokenRedis({ identity: idp, gcp: {} }),
      startTokenRedis({ identity: idp, gcp: {}, cluster: { masters: 3 } }),
    ]);
  } catch (error) {
    await Promise.allSettled([redis?.stop(), cluster?.stop(), idp.stop()]);
    throw error;
  }
  const restoreEnvironment = pointApplicationDefaultCredentialsAt(idp);

  return {
    mode: "local: metadata server (Google access tokens) + token Redis in GCP mode",
    source: gcpIam(),
    faults: idp.faults,
    standalone: { host: redis.host, port: redis.port, ca: redis.ca },
    cluster: { nodes: cluster.nodes, ca: cluster.ca },
    // In GCP mode connections outlive their token: none is closed at expiry.
    serverStats: () => serverStats([redis, cluster], "closedAtExpiry", "closed at token expiry"),
    describeTokens(received) {
      const { tokensIssued, requests } = idp.stats();
      const { metadata, ...outcomes } = requests; // metadata: the library's other lookups
      return describeEmulator({ tokensIssued, outcomes }, received);
    },
    async stop() {
      await Promise.allSettled([redis.stop(), cluster.stop()]);
      await idp.stop();
      restoreEnvironment();
    },
  };
}

/**
 * Application Default Credentials look for a key file and a gcloud login before the metadata
 * server: an empty HOME and no GOOGLE_APPLICATION_CREDENTIALS leave only the emulator. A project
 * id at hand spares the library a call to an installed gcloud.
 */
function pointApplicationDefaultCredentialsAt(idp) {
  const names = [
    "GCE_METADATA_HOST",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "HOME",
  ];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  const home = mkdtempSync(join(tmpdir(), "redis-credentials-demo-"));
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  process.env.HOME = home;
  process.env.GCE_METADATA_HOST = idp.gceMetadataHost;
  process.env.GOOGLE_CLOUD_PROJECT = idp.googleProjectId;
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(home, { recursive: true, force: true });
  };
}
