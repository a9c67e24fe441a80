// The complete jest example of docs/testing.md, as written there (only the package import
// points at the sources). Keep the two in step.
import { ClientSecretCredential, type TokenCredential } from "@azure/identity";
import {
  type CredentialSource,
  createTokenManager,
  credentialsFromJwt,
} from "@redis-credentials/core";
import Redis from "ioredis";
import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "../../src";

jest.setTimeout(30_000);

let idp: IdentityEmulator;
let redis: TokenRedis;

beforeAll(async () => {
  // Tokens that live 2 seconds: several rotations in one short test.
  idp = await startIdentityEmulator({ tokenLifetimeMs: 2_000 });
  redis = await startTokenRedis({ identity: idp }); // TLS by default, as on Azure
});

afterAll(async () => {
  await redis?.stop();
  await idp?.stop();
});

/** The application's credential source, as in production: Entra ID tokens for Redis. */
function entraSource(credential: TokenCredential): CredentialSource {
  return {
    name: "entra-id",
    async fetch({ signal }) {
      const token = await credential.getToken("https://redis.azure.com/.default", {
        abortSignal: signal,
      });
      if (token === null) throw new Error("no token");
      return credentialsFromJwt(token.token); // the user name is the token's oid
    },
  };
}

test("one connection keeps working across several token rotations", async () => {
  const app = idp.registerClient(); // a service principal with a generated secret
  const credential = new ClientSecretCredential(
    idp.tenantId,
    app.clientId,
    app.clientSecret as string,
    {
      authorityHost: idp.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: idp.ca },
    },
  );
  const manager = createTokenManager(entraSource(credential), {
    // Sized for 2-second tokens; the defaults suit tokens that live an hour.
    minRefreshIntervalMs: 100,
    refreshJitterMs: 100,
    reauthSpreadMs: 100,
  });
  const { username, password } = await manager.getCredentials();
  const client = new Redis({
    host: redis.host,
    port: redis.port,
    tls: { ca: redis.ca },
    username,
    password,
  });
  // On every new token: re-AUTH the live connection, and keep the options current so that a
  // reconnect authenticates with the new token too.
  const unsubscribe = manager.subscribe(async (next) => {
    client.options.username = next.username;
    client.options.password = next.password;
    await client.auth(next.username, next.password);
  });

  try {
    const deadline = Date.now() + 7_000; // three token lifetimes and more
    for (let i = 0; Date.now() < deadline; i++) {
      await client.set("counter", String(i));
      expect(await client.get("counter")).toBe(String(i));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stats = redis.stats();
    expect(stats.closedAtExpiry).toBe(0); // no connection outlived its token
    expect(stats.authSuccesses).toBeGreaterThanOrEqual(4); // the first AUTH and 3+ re-AUTHs
    expect(idp.stats().tokensIssued).toBeGreaterThanOrEqual(4);
  } finally {
    unsubscribe();
    client.disconnect();
    await manager.dispose();
  }
});

test("a connection that never re-authenticates is closed when its token expires", async () => {
  const objectId = "7c1c4a36-0000-4000-8000-000000000001";
  const client = new Redis({
    host: redis.host,
    port: redis.port,
    tls: { ca: redis.ca },
    username: objectId,
    password: idp.issueToken({ objectId, lifetimeMs: 1_000 }), // signed directly, no HTTP
    retryStrategy: () => null, // do not reconnect: we want to see the close
  });
  const before = redis.stats().closedAtExpiry;
  expect(await client.ping()).toBe("PONG");
  await new Promise((resolve) => client.once("end", resolve));
  expect(redis.stats().closedAtExpiry).toBe(before + 1);
});

test("a token for another user is refused as Azure refuses it", async () => {
  const objectId = "7c1c4a36-0000-4000-8000-000000000002";
  const client = new Redis({
    host: redis.host,
    port: redis.port,
    tls: { ca: redis.ca },
    username: objectId,
    password: idp.issueToken({ objectId }),
  });
  await expect(client.auth("someone-else", idp.issueToken({ objectId }))).rejects.toThrow(
    "WRONGPASS invalid username-password pair or user is disabled.",
  );
  expect(redis.stats().authRejected.user).toBe(1);
  expect(await client.ping()).toBe("PONG"); // still authenticated with its own token
  client.disconnect();
});
