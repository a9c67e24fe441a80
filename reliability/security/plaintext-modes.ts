import { ClientSecretCredential } from "@azure/identity";
import { awsIam } from "@redis-credentials/aws-iam";
import {
  type CredentialSource,
  createTokenManager,
  decodeJwtClaims,
  type TokenManager,
} from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { gcpIam } from "@redis-credentials/gcp-iam";
import {
  type IdentityEmulator,
  startTokenRedis,
  type TokenRedis,
  type TokenRedisOptions,
} from "@redis-credentials/testing";
import type { Deployment, PlaintextTarget } from "./plaintext-adapters";

/** A credential source kind, the Redis user its tokens authenticate, and who verifies them. */
export interface Mode {
  manager: TokenManager;
  user: string;
  /** The token-enforcing servers (no TLS) that accept this mode's tokens, by deployment. */
  servers: Record<Deployment, TokenRedis>;
}

export const MODES = ["entra-id", "aws-iam", "gcp-iam", "custom source"] as const;
export type ModeName = (typeof MODES)[number];

const AWS = {
  credentials: { accessKeyId: "AKIAPLAINTEXT0000001", secretAccessKey: "plaintext-secret-key" },
  region: "eu-west-1",
  cacheName: "plaintext-cache",
  userId: "plaintext-user",
};
const CUSTOM_USER = "00000000-0000-4000-8000-00000000c0de";

/** A standalone server, a one-master cluster and a sentinel-managed master, without TLS. */
export async function startServers(
  options: TokenRedisOptions,
): Promise<Record<Deployment, TokenRedis>> {
  const [standalone, cluster, sentinel] = await Promise.all([
    startTokenRedis({ ...options, tls: false }),
    startTokenRedis({ ...options, tls: false, cluster: { masters: 1 } }),
    startTokenRedis({ ...options, tls: false, sentinel: { replicas: 0 } }),
  ]);
  return { standalone, cluster, sentinel };
}

/** Each mode's source and servers; the Entra ID and custom modes share the emulator's servers. */
export async function startModes(idp: IdentityEmulator): Promise<Record<ModeName, Mode>> {
  const [identityServers, awsServers, gcpServers] = await Promise.all([
    startServers({ identity: idp }),
    startServers({ aws: AWS }),
    startServers({ identity: idp, gcp: {} }),
  ]);
  const app = idp.registerClient();
  const credential = new ClientSecretCredential(
    idp.tenantId,
    app.clientId,
    app.clientSecret as string,
    {
      authorityHost: idp.authorityHost,
      disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
      tlsOptions: { ca: idp.ca },
    },
  );
  // A source written by hand, as the core's docs show: a token, its user and its expiry.
  const custom: CredentialSource = {
    name: "custom",
    async fetch() {
      const token = idp.issueToken({ objectId: CUSTOM_USER });
      const { exp } = decodeJwtClaims(token);
      return { username: CUSTOM_USER, password: token, expiresAt: (exp as number) * 1000 };
    },
  };
  const google = {
    getAccessToken: async () => ({
      token: idp.issueGoogleAccessToken(),
      res: { data: { expires_in: 3_600 } },
    }),
  };
  return {
    "entra-id": {
      manager: createTokenManager(entraId({ credential })),
      user: app.objectId,
      servers: identityServers,
    },
    "aws-iam": {
      manager: createTokenManager(
        awsIam({
          userId: AWS.userId,
          cacheName: AWS.cacheName,
          region: AWS.region,
          credentials: AWS.credentials,
        }),
      ),
      user: AWS.userId,
      servers: awsServers,
    },
    "gcp-iam": {
      manager: createTokenManager(gcpIam({ auth: google })),
      // Memorystore's user is `default`; the server counts connections by the token's principal.
      user: idp.googleServiceAccount,
      servers: gcpServers,
    },
    "custom source": {
      manager: createTokenManager(custom),
      user: CUSTOM_USER,
      servers: identityServers,
    },
  };
}

/** Where the clients of `deployment` go on `server`. */
export function targetOf(server: TokenRedis): PlaintextTarget {
  const sentinel = server as TokenRedis & {
    sentinels?: { host: string; port: number }[];
    masterName?: string;
  };
  return {
    host: server.host,
    port: server.port,
    nodes: server.nodes,
    sentinels: sentinel.sentinels ?? [],
    masterName: sentinel.masterName ?? "mymaster",
  };
}
