import { awsIam } from "@redis-credentials/aws-iam";
import { CredentialsRejectedError, type TokenManager } from "@redis-credentials/core";
import { createRedis } from "@redis-credentials/ioredis";
import { startTokenRedis, type TokenRedis } from "@redis-credentials/testing";
import { bothAdaptersAcrossRotations, recordingManager } from "./workload";

// The whole path of ElastiCache IAM authentication, on this machine: awsIam() signs tokens with
// the AWS SDK's SigV4 signer, and ioredis and node-redis clients share one manager against a
// Redis in AWS mode, which verifies each token as AWS does and, like AWS after 12 hours, drops
// every connection a while after its last AUTH. Tokens live 3 s and connections 4 s after their
// last AUTH: only a re-AUTH at every rotation keeps them.
const AWS = {
  credentials: { accessKeyId: "AKIAE2ETESTKEY000001", secretAccessKey: "e2e-secret-access-key" },
  region: "eu-west-1",
  cacheName: "e2e-cache",
  userId: "app-user",
  connectionLifetimeMs: 4_000,
};
const ROTATIONS = 5;

let standalone: TokenRedis;
let cluster: TokenRedis;
const managers: TokenManager[] = [];

beforeAll(async () => {
  [standalone, cluster] = await Promise.all([
    startTokenRedis({ aws: AWS }),
    startTokenRedis({ aws: AWS, cluster: { masters: 3 } }),
  ]);
});

afterAll(async () => {
  await Promise.all(managers.map((manager) => manager.dispose()));
  await Promise.all([standalone?.stop(), cluster?.stop()]);
});

/** A fast-rotating manager over awsIam(), recording why each fetch happened. */
function awsManager(userId = AWS.userId): ReturnType<typeof recordingManager> {
  const source = awsIam({
    userId,
    cacheName: AWS.cacheName,
    region: AWS.region,
    credentials: AWS.credentials,
    expiresInSeconds: 3,
  });
  const manager = recordingManager(source);
  managers.push(manager);
  return manager;
}

test("standalone over TLS: ioredis and node-redis on one awsIam manager outlive the tokens and the connection lifetime", async () => {
  const stats = await bothAdaptersAcrossRotations(
    awsManager(),
    standalone,
    ROTATIONS,
    "standalone",
  );
  // The very same two connections (checked above) lived long past 4 s, by their AUTHs.
  expect(stats.closedAtLifetimeLimit).toBe(0);
  expect(stats.connectionsByUser).toEqual({ [AWS.userId]: 2 });
});

test("cluster over TLS: every node connection of ioredis and node-redis cluster clients is kept", async () => {
  const stats = await bothAdaptersAcrossRotations(awsManager(), cluster, ROTATIONS, "cluster");
  expect(stats.closedAtLifetimeLimit).toBe(0);
});

test("a user id the cache does not know: one forced refresh, then one CredentialsRejectedError", async () => {
  const manager = awsManager("not-a-cache-user");
  const failure = await createRedis(manager, {
    host: standalone.host,
    port: standalone.port,
    tls: { ca: standalone.ca as string },
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(CredentialsRejectedError);
  expect(failure).toMatchObject({ username: "not-a-cache-user" });
  expect((failure as Error).message).not.toContain("X-Amz-Signature");
  // The first token, then one forced refresh (and whatever the schedule brought meanwhile).
  expect(manager.reasons.filter((reason) => reason === "forced")).toHaveLength(1);
  expect(Object.keys(standalone.stats().authRejected)).toEqual(["user"]);
});
