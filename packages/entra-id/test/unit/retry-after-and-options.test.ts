import { ClientSecretCredential } from "@azure/identity";
import { createTokenManager, InvalidOptionsError } from "@redis-credentials/core";
import {
  EntraIdError,
  entraId,
  entraIdManagedIdentity,
  entraIdServicePrincipal,
  entraIdWorkloadIdentity,
} from "@redis-credentials/entra-id";
import nock from "nock";
import {
  CLIENT_ID,
  fetchOnce,
  IMDS,
  mockEntraDiscovery,
  noRetries,
  TENANT,
  tokenEndpoint,
  tokenResponse,
} from "../entra-nock";

beforeEach(() => {
  nock.cleanAll();
  mockEntraDiscovery();
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

const throttled = { error: "temporarily_unavailable", error_description: "AADSTS50196: throttled" };

function servicePrincipal() {
  return entraIdServicePrincipal({
    tenantId: TENANT,
    clientId: CLIENT_ID,
    clientSecret: "the-secret",
    credentialOptions: noRetries,
  });
}

async function failure(promise: Promise<unknown>): Promise<EntraIdError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(EntraIdError);
  return error as EntraIdError;
}

describe("Retry-After from Entra ID", () => {
  test("429 with Retry-After: 7 (delta-seconds): the EntraIdError asks for 7 s, and MSAL's own throttling keeps asking", async () => {
    const endpoint = tokenEndpoint().reply(429, throttled, { "Retry-After": "7" });
    const source = servicePrincipal();
    const error = await failure(fetchOnce(source));
    expect(endpoint.isDone()).toBe(true);
    expect(error).toMatchObject({ retryable: true, code: "temporarily_unavailable" });
    expect(error.retryAfterMs).toBeGreaterThan(6_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(7_000);

    // MSAL refuses the next call itself, with no request (nock would refuse one): the wait left.
    const again = await failure(fetchOnce(source));
    expect(again.retryAfterMs).toBeGreaterThan(5_000);
    expect(again.retryAfterMs).toBeLessThanOrEqual(error.retryAfterMs as number);
  });

  test("429 with an HTTP-date: the wait until then", async () => {
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 30_000).toUTCString();
    tokenEndpoint().reply(429, throttled, { "Retry-After": at });
    const error = await failure(fetchOnce(servicePrincipal()));
    expect(error.retryAfterMs).toBeGreaterThan(28_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(31_000);
  });

  test("the token manager waits it: a throttled refresh is retried no sooner than Retry-After", async () => {
    // A token within MSAL's 5-minute refresh margin: its next getToken goes to the network.
    tokenEndpoint().reply(200, tokenResponse("oid-1", 200).body);
    tokenEndpoint().reply(429, throttled, { "Retry-After": "20" });
    const manager = createTokenManager(servicePrincipal(), {
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    await manager.getCredentials();
    await expect(manager.refresh()).rejects.toThrow(/temporarily_unavailable/);
    const waitMs = (manager.status().nextRefreshAt as number) - Date.now();
    expect(waitMs).toBeGreaterThan(18_000);
    expect(waitMs).toBeLessThanOrEqual(20_000);
    await manager.dispose();
  });

  test("entraId() with a credential of your own: @azure/identity keeps no headers, so no retryAfterMs", async () => {
    tokenEndpoint().reply(429, throttled, { "Retry-After": "7" });
    const source = entraId({
      credential: new ClientSecretCredential(TENANT, CLIENT_ID, "the-secret", noRetries),
    });
    const error = await failure(fetchOnce(source));
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeUndefined();
  });

  test("managed identity: IMDS's 429 is retryable, but its Retry-After does not reach us", async () => {
    const imds = nock(IMDS)
      .get("/metadata/identity/oauth2/token")
      .query(true)
      .reply(429, { error: "too_many_requests" }, { "Retry-After": "9" });
    const source = entraIdManagedIdentity({
      clientId: "00000099-0000-4000-8000-000000000000",
      credentialOptions: noRetries,
    });
    const error = await failure(fetchOnce(source));
    expect(imds.isDone()).toBe(true);
    expect(error).toMatchObject({ retryable: true, status: 429 });
    expect(error.retryAfterMs).toBeUndefined();
  });
});

describe("unknown options are refused, naming the key and what was meant", () => {
  const credential = new ClientSecretCredential(TENANT, CLIENT_ID, "s", noRetries);
  test.each([
    [
      "entraId({ credentail })",
      () => entraId({ credentail: credential } as never),
      "credentail",
      /did you mean `credential`\?/,
    ],
    ["entraId({ scope })", () => entraId({ credential, scope: "x" } as never), "scope", /`scopes`/],
    [
      "entraIdManagedIdentity({ clientID })",
      () => entraIdManagedIdentity({ clientID: "id" } as never),
      "clientID",
      /`clientId`/,
    ],
    [
      "entraIdManagedIdentity({ credential })",
      () => entraIdManagedIdentity({ credential } as never),
      "credential",
      /entraId\(\{ credential \}\)/,
    ],
    [
      "entraIdServicePrincipal({ secret })",
      () =>
        entraIdServicePrincipal({
          tenantId: TENANT,
          clientId: CLIENT_ID,
          clientSecret: "s",
          secret: "s",
        } as never),
      "secret",
      /The options are tenantId, clientId, clientSecret/,
    ],
    [
      "entraIdWorkloadIdentity({ tenantID })",
      () => entraIdWorkloadIdentity({ tenantID: TENANT } as never),
      "tenantID",
      /did you mean `tenantId`\?/,
    ],
    [
      "entraIdManagedIdentity({ credentialOptions: 'x' })",
      () => entraIdManagedIdentity({ credentialOptions: "x" } as never),
      "credentialOptions",
      /must be an object/,
    ],
    [
      "entraId({ getTokenOptions: 1 })",
      () => entraId({ credential, getTokenOptions: 1 } as never),
      "getTokenOptions",
      /must be an object/,
    ],
  ])("%s", (_, create, option, message) => {
    let thrown: unknown;
    try {
      create();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionsError);
    expect((thrown as InvalidOptionsError).option).toBe(option);
    expect((thrown as InvalidOptionsError).message).toMatch(message);
  });
});
