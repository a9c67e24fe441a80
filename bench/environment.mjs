// The servers every system under test runs against, started once per run: the identity emulator
// (Entra ID's token endpoint over HTTPS) and a token-enforcing Redis that checks its tokens, and,
// for the AWS scenarios, a Redis in AWS mode that verifies SigV4 tokens and drops connections a
// while after their last AUTH, as ElastiCache does after 12 hours.

import { ClientSecretCredential } from "@azure/identity";
import { startIdentityEmulator, startTokenRedis } from "@redis-credentials/testing";

/** The scope Azure Cache for Redis and Azure Managed Redis tokens are issued for. */
export const REDIS_SCOPE = "https://redis.azure.com/.default";

/** AWS credentials and cache the AWS-mode Redis expects; awsIam() and GLIDE's iamConfig sign with them. */
export const AWS = {
  credentials: {
    accessKeyId: "AKIABENCHMARK0000001",
    secretAccessKey: "bench-secret-access-key",
  },
  region: "eu-west-1",
  cacheName: "bench-cache",
  userId: "bench-user",
};

/**
 * Starts the Entra ID emulator and a token-enforcing Redis over plain TCP (TLS would measure the
 * TLS library, the same for every system), tokens living `tokenLifetimeMs`.
 * @param {{ tokenLifetimeMs: number }} options
 */
export async function startEntraEnvironment({ tokenLifetimeMs }) {
  const idp = await startIdentityEmulator({ tokenLifetimeMs });
  const server = await startTokenRedis({ identity: idp, tls: false });
  return {
    idp,
    server,
    target: { host: server.host, port: server.port },
    tokenLifetimeMs,
    /**
     * A new app registration, so that each system's token requests are counted apart.
     * @param {{ tokenLifetimeMs?: number }} [options]
     */
    registerApp(options = {}) {
      return idp.registerClient(options);
    },
    /** A real `ClientSecretCredential` of `app` against the emulator. */
    credentialFor(app) {
      return new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret, {
        authorityHost: idp.authorityHost,
        disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
        tlsOptions: { ca: idp.ca },
      });
    },
    /** Tokens the emulator has issued to `app` so far. */
    tokenRequests(app) {
      return idp.stats().tokensIssuedByClient[app.clientId] ?? 0;
    },
    async stop() {
      await server.stop();
      await idp.stop();
    },
  };
}

/**
 * Starts a Redis in AWS mode over plain TCP: connections are dropped `connectionLifetimeMs` after
 * their last AUTH (ElastiCache's 12 hours, scaled down).
 * @param {{ connectionLifetimeMs: number }} options
 */
export async function startAwsEnvironment({ connectionLifetimeMs }) {
  const server = await startTokenRedis({ aws: { ...AWS, connectionLifetimeMs }, tls: false });
  return {
    server,
    target: { host: server.host, port: server.port },
    connectionLifetimeMs,
    async stop() {
      await server.stop();
    },
  };
}
