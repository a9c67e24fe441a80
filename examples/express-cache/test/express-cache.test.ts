import { ClientSecretCredential } from "@azure/identity";
import {
  type IdentityEmulator,
  type RegisteredClient,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { type CacheService, startCacheService } from "../src/cache-service";

// The service as it runs on Azure, on this machine: a real ClientSecretCredential gets tokens
// from the local identity emulator, and Redis (over TLS) closes any connection whose token has
// expired. Tokens live 4 s, so the test sees a rotation about every 2 s.
const TOKEN_LIFETIME_MS = 4_000;
const ROTATIONS = 3;

let idp: IdentityEmulator;
let redis: TokenRedis;
let service: CacheService | undefined;

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  redis = await startTokenRedis({ identity: idp });
});

afterAll(async () => {
  await service?.close();
  await redis?.stop();
  await idp?.stop();
});

function credentialFor(app: RegisteredClient) {
  return new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret as string, {
    authorityHost: idp.authorityHost,
    disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
    tlsOptions: { ca: idp.ca }, // trust the emulator, for this credential only
  });
}

/** The Redis connections of `user`, by id, with how often each authenticated. */
function authsByConnection(user: string): Map<number, number> {
  const connections = redis.connections().filter((connection) => connection.user === user);
  return new Map(connections.map(({ id, authSuccesses }) => [id, authSuccesses]));
}

test("requests are served from the cache, without an error, across token rotations", async () => {
  const app = idp.registerClient();
  service = await startCacheService({
    credential: credentialFor(app),
    redis: { host: redis.host, port: redis.port, ca: redis.ca },
    port: 0,
    // Sized for 4-second tokens: refresh 2 s before expiry, spread the re-AUTH over 200 ms.
    tokenManager: {
      refreshBeforeExpiryMs: 2_000,
      minRefreshIntervalMs: 200,
      refreshJitterMs: 200,
      reauthSpreadMs: 200,
    },
  });
  const opened = authsByConnection(app.objectId);
  expect(opened.size).toBe(1);

  // Requests go on until the service's connection has re-authenticated ROTATIONS times: the
  // handshake, then one AUTH per new token.
  const answers: { id: string; status: number; cache: string | null; name?: string }[] = [];
  const deadline = Date.now() + 15_000;
  const rotated = () =>
    [...opened.keys()].every((id) => (authsByConnection(app.objectId).get(id) ?? 0) > ROTATIONS);
  for (let i = 0; !rotated() && Date.now() < deadline; i++) {
    const id = String((i % 5) + 1);
    const response = await fetch(`${service.url}/products/${id}`);
    const body = response.ok ? ((await response.json()) as { name: string }) : undefined;
    answers.push({
      id,
      status: response.status,
      cache: response.headers.get("x-cache"),
      ...(body && { name: body.name }),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  expect(rotated()).toBe(true);
  expect(answers.filter(({ status }) => status !== 200)).toEqual([]);
  // Each product was loaded once; every later request was a cache hit.
  const misses = answers.filter(({ cache }) => cache === "miss").map(({ id }) => id);
  expect(misses.sort()).toEqual(["1", "2", "3", "4", "5"]);
  expect(answers.filter(({ cache }) => cache === "hit")).toHaveLength(answers.length - 5);
  expect(answers.find(({ id }) => id === "3")?.name).toBe("Tamper");
  // The one connection lived through every rotation: Redis never had to close it.
  const stats = redis.stats();
  expect(stats.closedAtExpiry).toBe(0);
  expect(stats.authRejected).toEqual({});
  expect(idp.stats().tokensIssuedByClient[app.clientId]).toBeGreaterThan(ROTATIONS);
});
