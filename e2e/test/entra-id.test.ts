import { ClientSecretCredential } from "@azure/identity";
import {
  CredentialsRejectedError,
  createTokenManager,
  type TokenManager,
} from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { createRedis } from "@redis-credentials/ioredis";
import {
  type IdentityEmulator,
  type RegisteredClient,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { bothAdaptersAcrossRotations, FAST_ROTATION } from "./workload";

// The whole path a service principal takes on Azure, on this machine: a real ClientSecretCredential
// gets tokens from the identity emulator's v2.0 token endpoint, entraId() turns them into
// credentials (the oid claim as user name), and ioredis and node-redis clients share one manager
// against a Redis that closes any connection whose token expires, over TLS.
const TOKEN_LIFETIME_MS = 3_000;
const ROTATIONS = 5;

let idp: IdentityEmulator;
let server: TokenRedis;
let manager: TokenManager | undefined;

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  server = await startTokenRedis({ identity: idp });
});
/** A real ClientSecretCredential for an app registered with the emulator, trusting its CA. */
function emulatorCredential(app: RegisteredClient) {
  return new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret as string, {
    authorityHost: idp.authorityHost,
    disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
    tlsOptions: { ca: idp.ca },
  });
}

afterAll(async () => {
  await manager?.dispose();
  await server?.stop();
  await idp?.stop();
});

test("ioredis and node-redis stay connected over TLS across rotations of tokens from a real ClientSecretCredential", async () => {
  const app = idp.registerClient();
  const credential = emulatorCredential(app);
  const theManager = createTokenManager(entraId({ credential }), FAST_ROTATION);
  manager = theManager;
  const stats = await bothAdaptersAcrossRotations(theManager, server, ROTATIONS, "standalone");
  expect(stats.closedAtExpiry).toBe(0);
  // The Redis user is the service principal's object id: the oid claim of its tokens.
  expect(stats.connectionsByUser).toEqual({ [app.objectId]: 2 });
  // One token request per rotation (plus the first) for both clients together: MSAL counts a
  // 3-second token as expired at once, so each scheduled refresh reaches the token endpoint.
  const issued = idp.stats().tokensIssuedByClient[app.clientId] ?? 0;
  expect(issued).toBe(theManager.status().counters.refreshes);
  expect(issued).toBeGreaterThanOrEqual(ROTATIONS);
  await theManager.dispose();
});

test("an identity Redis does not know: the forced refresh gets MSAL's cached token back, and the error says to add the identity as a Redis user", async () => {
  // An hour-long token, as Entra issues them: MSAL serves it from its cache until 5 minutes
  // before expiry, so the forced refresh after WRONGPASS cannot bring a different one.
  const app = idp.registerClient({ tokenLifetimeMs: 3_600_000 });
  const credential = emulatorCredential(app);
  // A user name that is not the token's oid: Redis refuses the pair, as Azure refuses an identity
  // that was never added as a Redis user.
  const theManager = createTokenManager(entraId({ credential, username: "not-a-redis-user" }));
  manager = theManager;
  const failure = await createRedis(theManager, {
    host: server.host,
    port: server.port,
    tls: { ca: server.ca as string },
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(CredentialsRejectedError);
  expect(failure).toMatchObject({
    username: "not-a-redis-user",
    message: expect.stringMatching(/added as a Redis user/),
  });
  // Forced refreshes ran, and each got the one token there is from MSAL's cache.
  expect(theManager.status().counters.fetches).toBeGreaterThanOrEqual(2);
  expect(theManager.status().counters.refreshes).toBe(1);
  expect(idp.stats().tokensIssuedByClient[app.clientId]).toBe(1);
  await theManager.dispose();
});
