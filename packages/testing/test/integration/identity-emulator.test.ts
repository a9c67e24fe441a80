import { ClientCertificateCredential, ClientSecretCredential } from "@azure/identity";
import { createClientCertificate } from "../../src/certificates";
import type { IdentityEmulator } from "../../src/identity-emulator";
import {
  claimsOf,
  expectLifetime,
  failureOf,
  redisScope,
  secretTokenRequest,
  sleep,
  timedToken,
  useIdentityEmulator,
} from "./identity-helpers";

// The real @azure/identity 4.13.3 credentials against the emulator, unchanged.

let idp: IdentityEmulator;
useIdentityEmulator({ tokenLifetimeMs: 3_000 }, (started) => {
  idp = started;
});

/** What a user passes: the emulator as authority, no instance discovery, its CA trusted. */
function credentialOptions(retries = 0) {
  return {
    authorityHost: idp.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: idp.ca },
    retryOptions: { maxRetries: retries, retryDelayInMs: 10 },
  };
}

function secretCredential(
  client: { clientId: string; clientSecret?: string },
  options = credentialOptions(),
) {
  return new ClientSecretCredential(idp.tenantId, client.clientId, client.clientSecret!, options);
}

describe("ClientSecretCredential", () => {
  test("gets a signed token whose claims name the client and whose life is the one asked", async () => {
    const client = idp.registerClient({ tokenLifetimeMs: 4_000 });
    const timed = await timedToken(idp, () => secretCredential(client).getToken(redisScope));

    expect(timed.claims).toMatchObject({
      oid: client.objectId,
      sub: client.objectId,
      appid: client.clientId,
      tid: idp.tenantId,
      aud: "https://redis.azure.com",
      iss: `https://sts.windows.net/${idp.tenantId}/`,
    });
    expectLifetime(timed, 4_000);
    expect(timed.token.tokenType).toBe("Bearer");
    expect(idp.stats().tokensIssuedByClient[client.clientId]).toBe(1);
  });

  test("the Redis app-id scope gets the same audience", async () => {
    const client = idp.registerClient();
    const token = await secretCredential(client).getToken(
      "acca5fbb-b7e4-4009-81f1-37e38fd66d78/.default",
    );
    expect(claimsOf(idp, token).aud).toBe("https://redis.azure.com");
  });

  test("a short-lived token is never served from MSAL's cache: every getToken asks the emulator", async () => {
    const client = idp.registerClient();
    const credential = secretCredential(client);
    const first = await credential.getToken(redisScope);
    const second = await credential.getToken(redisScope);
    expect(claimsOf(idp, second).uti).not.toBe(claimsOf(idp, first).uti);
    expect(idp.stats().tokensIssuedByClient[client.clientId]).toBe(2);
  });

  test("after the first token expired, a second credential gets a new, valid token", async () => {
    const client = idp.registerClient({ tokenLifetimeMs: 1_000 });
    const first = await secretCredential(client).getToken(redisScope);
    const firstClaims = claimsOf(idp, first);
    // A real token's real expiry: wait it out.
    await sleep(firstClaims.exp * 1000 - Date.now() + 20);
    expect(idp.verifyToken(first.token)).toEqual({ ok: false, reason: "expired" });

    const second = await secretCredential(client).getToken(redisScope);
    const secondClaims = claimsOf(idp, second);
    expect(secondClaims.uti).not.toBe(firstClaims.uti);
    expect(secondClaims.oid).toBe(client.objectId);
    expect(secondClaims.exp).toBeGreaterThan(firstClaims.exp);
  });

  test("a token with a long lifetime carries refresh_in, which MSAL turns into refreshAfterTimestamp", async () => {
    const client = idp.registerClient({ tokenLifetimeMs: 4 * 3_600_000 });
    const before = Date.now();
    const token = await secretCredential(client).getToken(redisScope);
    expect(token.refreshAfterTimestamp).toBeDefined();
    // Half the lifetime, as Entra does for tokens of two hours or more.
    expect(Math.abs(token.refreshAfterTimestamp! - (before + 2 * 3_600_000))).toBeLessThan(2_000);
  });
});

describe("ClientCertificateCredential", () => {
  test("gets a token with a client assertion signed by the registered certificate's key", async () => {
    const certificate = await createClientCertificate();
    const client = idp.registerClient({ certificatePem: certificate.certificate });
    expect(client.clientSecret).toBeUndefined();

    const credential = new ClientCertificateCredential(
      idp.tenantId,
      client.clientId,
      { certificate: certificate.pem },
      credentialOptions(),
    );
    const before = Date.now();
    const token = await credential.getToken(redisScope);

    const claims = claimsOf(idp, token);
    expect(claims).toMatchObject({
      oid: client.objectId,
      appid: client.clientId,
      tid: idp.tenantId,
    });
    expect(Math.abs(claims.exp * 1000 - (before + 3_000))).toBeLessThanOrEqual(600);
  });

  test("an assertion signed by another key: AuthenticationRequiredError, invalid_client AADSTS700027 (HTTP 401)", async () => {
    const client = idp.registerClient({
      certificatePem: (await createClientCertificate()).certificate,
    });
    const credential = new ClientCertificateCredential(
      idp.tenantId,
      client.clientId,
      { certificate: (await createClientCertificate()).pem },
      credentialOptions(),
    );
    const error = await failureOf(credential.getToken(redisScope));
    expect(error.name).toBe("AuthenticationRequiredError");
    expect(error.message).toMatch(/^invalid_client: Error\(s\): 700027 - Timestamp: /);
    expect(error.message).toContain("AADSTS700027: Client assertion failed signature validation.");
    expect(idp.stats().tokensIssuedByClient[client.clientId]).toBeUndefined();
  });
});

describe("the errors @azure/identity throws for Entra's refusals", () => {
  test("wrong secret: AuthenticationRequiredError 'invalid_client: Error(s): 7000215' (HTTP 401)", async () => {
    const client = idp.registerClient();
    const raw = await secretTokenRequest(idp, { ...client, clientSecret: "wrong" });
    expect(raw.status).toBe(401);

    const error = await failureOf(
      secretCredential({ ...client, clientSecret: "wrong" }).getToken(redisScope),
    );
    expect(error.name).toBe("AuthenticationRequiredError");
    expect(error.message).toMatch(/^invalid_client: Error\(s\): 7000215 - Timestamp: /);
    expect(error.message).toContain("AADSTS7000215: Invalid client secret provided.");
    // The status is not on the error: only the message tells refusals apart.
    expect(error.statusCode).toBeUndefined();
  });

  test("unknown client: AuthenticationRequiredError 'unauthorized_client: Error(s): 700016' (HTTP 400)", async () => {
    const stranger = { clientId: "00000000-0000-0000-0000-000000000001", clientSecret: "s" };
    expect((await secretTokenRequest(idp, stranger)).status).toBe(400);

    const error = await failureOf(secretCredential(stranger).getToken(redisScope));
    expect(error.name).toBe("AuthenticationRequiredError");
    expect(error.message).toMatch(/^unauthorized_client: Error\(s\): 700016 - Timestamp: /);
    expect(error.message).toContain(
      `AADSTS700016: Application with identifier '${stranger.clientId}' was not found in the directory '${idp.tenantId}'.`,
    );
  });

  test("a scope other than Redis's: AuthenticationRequiredError 'invalid_scope: Error(s): 70011' (HTTP 400)", async () => {
    const client = idp.registerClient();
    const scope = "https://management.azure.com/.default";
    expect((await secretTokenRequest(idp, client, scope)).status).toBe(400);

    const error = await failureOf(secretCredential(client).getToken(scope));
    expect(error.name).toBe("AuthenticationRequiredError");
    expect(error.message).toMatch(/^invalid_scope: Error\(s\): 70011 - Timestamp: /);
  });

  test("the CA not trusted: CredentialUnavailableError 'endpoints_resolution_error'", async () => {
    const client = idp.registerClient();
    const { tlsOptions: _untrusted, ...options } = credentialOptions();
    const error = await failureOf(
      new ClientSecretCredential(
        idp.tenantId,
        client.clientId,
        client.clientSecret!,
        options,
      ).getToken(redisScope),
    );
    expect(error.name).toBe("CredentialUnavailableError");
    expect(error.message).toMatch(/^endpoints_resolution_error: /);
    expect(idp.stats().tokensIssuedByClient[client.clientId]).toBeUndefined();
  });
});

describe("faults seen through @azure/identity", () => {
  test("outage: 'temporarily_unavailable: Error(s): 90033', then MSAL replays it for 60 s without asking", async () => {
    const client = idp.registerClient();
    const credential = secretCredential(client);
    idp.faults.outage();
    const error = await failureOf(credential.getToken(redisScope));
    expect(error.name).toBe("AuthenticationRequiredError");
    expect(error.message).toMatch(/^temporarily_unavailable: Error\(s\): 90033 - Timestamp: /);

    idp.faults.restore();
    const outagesSeen = idp.stats().requests.outage;
    const replayed = await failureOf(credential.getToken(redisScope));
    // MSAL's client-side throttling: a 5xx without Retry-After blocks this credential for 60 s.
    expect(replayed.name).toBe("AuthenticationRequiredError");
    expect(replayed.message).toMatch(/^90033: AADSTS90033: /);
    expect(idp.stats().requests.outage).toBe(outagesSeen);
    expect(idp.stats().tokensIssuedByClient[client.clientId]).toBeUndefined();
    // A new credential is a new MSAL app with its own throttling cache.
    await expect(secretCredential(client).getToken(redisScope)).resolves.toBeDefined();
  });

  test("throttle: 'temporarily_unavailable: Error(s): 50196', replayed by MSAL despite Retry-After: 1", async () => {
    const credential = secretCredential(idp.registerClient());
    idp.faults.throttle(1);
    const error = await failureOf(credential.getToken(redisScope));
    expect(error.name).toBe("AuthenticationRequiredError");
    expect(error.message).toMatch(/^temporarily_unavailable: Error\(s\): 50196 - Timestamp: /);

    idp.faults.restore();
    // @azure/identity hands MSAL lower-cased headers, so MSAL misses Retry-After and blocks 60 s.
    await sleep(1_100);
    const replayed = await failureOf(credential.getToken(redisScope));
    expect(replayed.message).toMatch(/^50196: AADSTS50196: /);
  });

  test("failNext(2, 500): the credential's own retries get through on the third request", async () => {
    const client = idp.registerClient();
    const before = idp.stats().requests.failed ?? 0;
    idp.faults.failNext(2, 500);
    const token = await secretCredential(client, credentialOptions(2)).getToken(redisScope);
    expect(claimsOf(idp, token).oid).toBe(client.objectId);
    expect((idp.stats().requests.failed ?? 0) - before).toBe(2);
  });

  test("latency: getToken takes at least the added delay", async () => {
    const credential = secretCredential(idp.registerClient());
    await credential.getToken(redisScope); // discovery out of the way
    idp.faults.latency(300);
    const started = Date.now();
    await credential.getToken(redisScope);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  test("hang: getToken waits until restore, then fails with 'network_error'; the next one succeeds", async () => {
    const credential = secretCredential(idp.registerClient());
    idp.faults.hang();
    let settled = false;
    const pending = failureOf(credential.getToken(redisScope)).finally(() => {
      settled = true;
    });
    await sleep(300);
    expect(settled).toBe(false);

    idp.faults.restore();
    const error = await pending;
    expect(error.name).toBe("AuthenticationRequiredError");
    expect(error.message).toMatch(/^network_error: /);
    await expect(credential.getToken(redisScope)).resolves.toBeDefined();
  });
});
