import { ManagedIdentityCredential } from "@azure/identity";
import type { IdentityEmulator } from "../../src/identity-emulator";
import {
  claimsOf,
  expectLifetime,
  failureOf,
  imdsRequest,
  redisScope,
  sleep,
  timedToken,
  useIdentityEmulator,
} from "./identity-helpers";

// The real ManagedIdentityCredential against the emulator's IMDS endpoint. Its own file:
// MSAL picks the managed-identity source (and with it the endpoint URL and the HTTP client of
// the first credential that asks for a token) once per module registry, i.e. per jest file.

let idp: IdentityEmulator;
useIdentityEmulator({ tokenLifetimeMs: 3_000 }, (started) => {
  idp = started;
});

beforeAll(async () => {
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = idp.managedIdentityEndpoint;
  // The first credential to ask sets the retry policy every later one shares: none, here.
  const first = new ManagedIdentityCredential({ retryOptions: { maxRetries: 0 } });
  await first.getToken(redisScope);
});

afterAll(() => {
  delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
});

test("system-assigned: a token for the system identity, living the emulator's lifetime", async () => {
  const system = idp.registerManagedIdentity({ systemAssigned: true });
  const timed = await timedToken(idp, () => new ManagedIdentityCredential().getToken(redisScope));

  expect(timed.claims).toMatchObject({
    oid: system.objectId,
    appid: system.clientId,
    tid: idp.tenantId,
    aud: "https://redis.azure.com",
  });
  expectLifetime(timed, 3_000);
});

test("user-assigned, named by client id, object id or resource id", async () => {
  const identity = idp.registerManagedIdentity({ tokenLifetimeMs: 10_000 });
  const credentials = [
    new ManagedIdentityCredential(identity.clientId),
    new ManagedIdentityCredential({ objectId: identity.objectId }),
    new ManagedIdentityCredential({ resourceId: identity.resourceId }),
  ];
  for (const credential of credentials) {
    const before = Date.now();
    const claims = claimsOf(idp, await credential.getToken(redisScope));
    expect(claims).toMatchObject({ oid: identity.objectId, appid: identity.clientId });
    expect(Math.abs(claims.exp * 1000 - (before + 10_000))).toBeLessThanOrEqual(600);
  }
  expect(idp.stats().tokensIssuedByClient[identity.clientId]).toBe(3);
});

test("registerManagedIdentity({ systemAssigned: true, objectId }) replaces the system identity", async () => {
  const replaced = idp.registerManagedIdentity({ systemAssigned: true, objectId: "system-oid" });
  expect(idp.registerManagedIdentity({ systemAssigned: true })).toEqual(replaced);
  const claims = claimsOf(idp, await new ManagedIdentityCredential().getToken(redisScope));
  expect(claims.oid).toBe("system-oid");
});

test("each getToken of a short-lived token asks the endpoint again", async () => {
  const identity = idp.registerManagedIdentity();
  const credential = new ManagedIdentityCredential(identity.clientId);
  const first = claimsOf(idp, await credential.getToken(redisScope));
  const second = claimsOf(idp, await credential.getToken(redisScope));
  expect(second.uti).not.toBe(first.uti);
});

test("an unknown user-assigned identity: CredentialUnavailableError with IMDS's 'Identity not found'", async () => {
  const error = await failureOf(
    new ManagedIdentityCredential("00000000-0000-0000-0000-00000000000f").getToken(redisScope),
  );
  expect(error.name).toBe("CredentialUnavailableError");
  expect(error.message).toMatch(
    /^ManagedIdentityCredential: Authentication failed\. Message invalid_request: Error\(s\): Not Available - Timestamp: Not Available - Description: Identity not found/,
  );
});

test("another resource: CredentialUnavailableError with invalid_resource AADSTS500011", async () => {
  const error = await failureOf(
    new ManagedIdentityCredential().getToken("https://management.azure.com/.default"),
  );
  expect(error.name).toBe("CredentialUnavailableError");
  expect(error.message).toContain("Message invalid_resource: ");
  expect(error.message).toContain("AADSTS500011");
});

test("outage: CredentialUnavailableError; the same credential recovers at once after restore", async () => {
  const credential = new ManagedIdentityCredential();
  idp.faults.outage();
  const error = await failureOf(credential.getToken(redisScope));
  expect(error.name).toBe("CredentialUnavailableError");
  expect(error.message).toMatch(
    /^ManagedIdentityCredential: Authentication failed\. Message temporarily_unavailable: /,
  );
  idp.faults.restore();
  // No MSAL client-side throttling on the managed-identity path.
  await expect(credential.getToken(redisScope)).resolves.toBeDefined();
});

test("hang, then restore: CredentialUnavailableError 'Network unreachable'", async () => {
  const credential = new ManagedIdentityCredential();
  idp.faults.hang();
  const pending = failureOf(credential.getToken(redisScope));
  await sleep(200);
  idp.faults.restore();
  const error = await pending;
  expect(error.name).toBe("CredentialUnavailableError");
  expect(error.message).toMatch(
    /^ManagedIdentityCredential: Network unreachable\. Message: network_error: /,
  );
});

describe("the IMDS endpoint, raw", () => {
  test("answers like IMDS: every number a string, resource echoed", async () => {
    const response = await imdsRequest(idp);
    expect(response.status).toBe(200);
    const system = idp.registerManagedIdentity({ systemAssigned: true });
    expect(response.body).toMatchObject({
      token_type: "Bearer",
      resource: "https://redis.azure.com",
      client_id: system.clientId,
      expires_in: expect.stringMatching(/^\d+$/),
      expires_on: expect.stringMatching(/^\d+$/),
      ext_expires_in: expect.stringMatching(/^\d+$/),
      not_before: expect.stringMatching(/^\d+$/),
    });
    const claims = claimsOf(idp, { token: response.body.access_token, expiresOnTimestamp: 0 });
    expect(response.body.expires_on).toBe(String(claims.exp));
  });

  test("refuses without the Metadata header, or with two identities named", async () => {
    const noHeader = await imdsRequest(idp, {}, {});
    expect(noHeader.status).toBe(400);
    expect(noHeader.body).toEqual({
      error: "invalid_request",
      error_description: "Required metadata header not specified",
    });
    const identity = idp.registerManagedIdentity();
    const two = await imdsRequest(idp, {
      client_id: identity.clientId,
      object_id: identity.objectId,
    });
    expect(two.status).toBe(400);
    expect(two.body.error).toBe("invalid_request");
    const unknown = await imdsRequest(idp, { msi_res_id: "/subscriptions/x/nothing" });
    expect(unknown.body).toEqual({
      error: "invalid_request",
      error_description: "Identity not found",
    });
  });

  test("faults apply here too, in IMDS's error shape", async () => {
    idp.faults.throttle(3);
    const throttled = await imdsRequest(idp);
    expect(throttled.status).toBe(429);
    expect(throttled.headers["retry-after"]).toBe("3");
    expect(throttled.body.error).toBe("temporarily_unavailable");
    expect(Object.keys(throttled.body).sort()).toEqual(["error", "error_description"]);
    idp.faults.restore();
    idp.faults.failNext(1, 500);
    expect((await imdsRequest(idp)).status).toBe(500);
    expect((await imdsRequest(idp)).status).toBe(200);
  });
});
