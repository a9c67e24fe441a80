import { ClientSecretCredential } from "@azure/identity";
import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { type EmailQueue, startEmailQueue } from "../src/email-queue";

// The queue and worker as they run on Azure, on this machine: a real ClientSecretCredential gets
// tokens from the local identity emulator, and Redis (over TLS) closes any connection whose token
// has expired. Tokens live 4 s, so the test sees a rotation about every 2 s.
const TOKEN_LIFETIME_MS = 4_000;
const ROTATIONS = 3;

let idp: IdentityEmulator;
let redis: TokenRedis;
let emails: EmailQueue | undefined;

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  redis = await startTokenRedis({ identity: idp });
});

afterAll(async () => {
  await emails?.close();
  await redis?.stop();
  await idp?.stop();
});

/** The Redis connections of `user`, by id, with how often each authenticated. */
function authsByConnection(user: string): Map<number, number> {
  const connections = redis.connections().filter((connection) => connection.user === user);
  return new Map(connections.map(({ id, authSuccesses }) => [id, authSuccesses]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("every job is processed, none failed, across token rotations", async () => {
  const app = idp.registerClient();
  emails = await startEmailQueue({
    credential: new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret as string, {
      authorityHost: idp.authorityHost,
      disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
      tlsOptions: { ca: idp.ca }, // trust the emulator, for this credential only
    }),
    redis: { host: redis.host, port: redis.port, ca: redis.ca },
    // Sized for 4-second tokens: refresh 2 s before expiry, spread the re-AUTHs over 200 ms.
    tokenManager: {
      refreshBeforeExpiryMs: 2_000,
      minRefreshIntervalMs: 200,
      refreshJitterMs: 200,
      reauthSpreadMs: 200,
    },
  });
  const { queue, worker } = emails;
  const sent = new Map<string, string>();
  const failed: string[] = [];
  const errors: Error[] = [];
  worker.on("completed", (job, result) => sent.set(job.id as string, result.to));
  worker.on("failed", (job, error) => failed.push(`${job?.id}: ${error.message}`));
  worker.on("error", (error) => errors.push(error));
  queue.on("error", (error) => errors.push(error));
  // The client's connection and the worker's blocking connection (BullMQ's duplicate).
  const opened = authsByConnection(app.objectId);
  expect(opened.size).toBe(2);

  // Sign-ups keep coming until every connection has re-authenticated ROTATIONS times.
  const added = new Map<string, string>();
  const deadline = Date.now() + 15_000;
  const rotated = () =>
    [...opened.keys()].every((id) => (authsByConnection(app.objectId).get(id) ?? 0) > ROTATIONS);
  while (!rotated() && Date.now() < deadline) {
    const to = `user${added.size}@example.com`;
    const job = await queue.add("welcome", { to });
    added.set(job.id as string, to);
    await sleep(20);
  }
  for (let waited = 0; sent.size < added.size && waited < 10_000; waited += 20) await sleep(20);

  expect(rotated()).toBe(true);
  expect(errors.map(String)).toEqual([]);
  expect(failed).toEqual([]);
  expect(sent).toEqual(added); // every job sent its email, once
  expect(await queue.getJobCounts("completed", "failed", "wait", "active")).toEqual({
    completed: added.size,
    failed: 0,
    wait: 0,
    active: 0,
  });
  // The connections lived through every rotation: Redis never had to close one.
  const stats = redis.stats();
  expect(stats.closedAtExpiry).toBe(0);
  expect(stats.authRejected).toEqual({});
});
