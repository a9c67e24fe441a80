// The local demo's AWS variant (`--emulate aws`), from @redis-credentials/testing:
//   - a token-enforcing Redis over TLS in AWS mode (a server and a 3-master cluster): it accepts
//     only SigV4-presigned ElastiCache IAM tokens for the cache and user below, checked as AWS
//     checks them, and drops each connection 30 s after its last AUTH, as ElastiCache does after
//     12 hours;
//   - in place of an AWS credential provider chain, a provider that hands out role credentials
//     (as STS would) and can be made to hang, for the outage.
// awsIam() signs 20-second tokens with the AWS SDK's SigV4 signer; nothing leaves the machine.
import { awsIam } from "@redis-credentials/aws-iam";
import { startTokenRedis } from "@redis-credentials/testing";
import { serverStats } from "./local-stack.mjs";

export const TOKEN_LIFETIME_MS = 20_000;
const CONNECTION_LIFETIME_MS = 30_000;
const ROLE_CREDENTIALS = {
  accessKeyId: "ASIADEMOROLEKEY00001",
  secretAccessKey: "demo-role-secret-access-key",
  sessionToken: "demo-role-session-token",
};
const CACHE = { region: "eu-west-1", cacheName: "demo-cache", userId: "demo-app" };

export async function startLocalAwsStack() {
  const aws = {
    ...CACHE,
    credentials: ROLE_CREDENTIALS,
    connectionLifetimeMs: CONNECTION_LIFETIME_MS,
  };
  let redis;
  let cluster;
  try {
    [redis, cluster] = await Promise.all([
      startTokenRedis({ aws }),
      startTokenRedis({ aws, cluster: { masters: 3 } }),
    ]);
  } catch (error) {
    await Promise.allSettled([redis?.stop(), cluster?.stop()]);
    throw error;
  }

  // The credential provider: answers at once, or (during the outage) holds every request until
  // the outage ends, then drops it, as an unreachable STS endpoint would.
  const provider = credentialProvider();
  return {
    mode: "local: AWS mode (SigV4 tokens) + token Redis",
    source: awsIam({
      ...CACHE,
      credentials: provider.next,
      expiresInSeconds: TOKEN_LIFETIME_MS / 1000,
    }),
    faults: provider.faults,
    standalone: { host: redis.host, port: redis.port, ca: redis.ca },
    cluster: { nodes: cluster.nodes, ca: cluster.ca },
    serverStats: () =>
      serverStats([redis, cluster], "closedAtLifetimeLimit", "closed at the 12 h limit"),
    describeTokens() {
      return `the credential provider answered ${provider.served} requests`;
    },
    async stop() {
      provider.faults.restore();
      await Promise.allSettled([redis.stop(), cluster.stop()]);
    },
  };
}

function credentialProvider() {
  let hanging = false;
  const held = new Set();
  const state = { served: 0 };
  return {
    get served() {
      return state.served;
    },
    next: () => {
      if (!hanging) {
        state.served += 1;
        return Promise.resolve({ ...ROLE_CREDENTIALS });
      }
      return new Promise((_, reject) => held.add(reject));
    },
    faults: {
      hang() {
        hanging = true;
      },
      restore() {
        hanging = false;
        for (const reject of held) reject(new Error("connect ETIMEDOUT (the demo's outage)"));
        held.clear();
      },
    },
  };
}
