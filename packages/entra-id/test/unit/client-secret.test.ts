import { inspect } from "node:util";
import { ClientSecretCredential } from "@azure/identity";
import { createTokenManager, isPermanent } from "@redis-credentials/core";
import { EntraIdError, entraId, entraIdServicePrincipal } from "@redis-credentials/entra-id";
import { createClientCertificate } from "@redis-credentials/testing";
import nock from "nock";
import {
  CLIENT_ID,
  entraError,
  fetchOnce,
  mockEntraDiscovery,
  noRetries,
  TENANT,
  tokenEndpoint,
  tokenResponse,
} from "../entra-nock";

const OID = "5d1a6f0e-aaaa-4bbb-8ccc-123456789abc";

function secretSource() {
  return entraId({
    credential: new ClientSecretCredential(TENANT, CLIENT_ID, "the-secret", noRetries),
  });
}

beforeEach(() => {
  nock.cleanAll();
  mockEntraDiscovery();
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

test("a client secret token: the oid claim is the user name, the expiry is the earlier of expires_in and exp", async () => {
  const answer = tokenResponse(OID, 4_000);
  const request = tokenEndpoint().reply(200, (_uri, body) => {
    expect(String(body)).toContain("client_secret=the-secret");
    expect(decodeURIComponent(String(body))).toContain("scope=https://redis.azure.com/.default");
    return answer.body;
  });
  const credentials = await fetchOnce(secretSource());
  expect(request.isDone()).toBe(true);
  expect(credentials.username).toBe(OID);
  expect(credentials.password).toBe(answer.accessToken);
  expect(credentials.expiresAt).toBe(answer.exp * 1000);
  expect(inspect(credentials)).not.toContain(answer.accessToken);
  expect(JSON.stringify(credentials)).not.toContain(answer.accessToken);
});

test("a client certificate token: the same, through ClientCertificateCredential's signed assertion", async () => {
  const { pem } = await createClientCertificate();
  const answer = tokenResponse(OID, 4_000);
  tokenEndpoint().reply(200, (_uri, body) => {
    expect(String(body)).toContain(
      "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
    );
    expect(String(body)).not.toContain("client_secret");
    return answer.body;
  });
  const source = entraIdServicePrincipal({
    tenantId: TENANT,
    clientId: CLIENT_ID,
    certificate: pem,
    credentialOptions: noRetries,
  });
  const credentials = await fetchOnce(source);
  expect(credentials.username).toBe(OID);
  expect(credentials.password).toBe(answer.accessToken);
  expect(source.name).toBe("entra-id (ClientCertificateCredential)");
});

test("refresh_in in Entra's answer becomes the manager's refreshAt hint", async () => {
  const answer = tokenResponse(OID, 3_600);
  tokenEndpoint().reply(200, { ...answer.body, refresh_in: 1_800 });
  const credentials = await fetchOnce(secretSource());
  expect(credentials.expiresAt).toBe(answer.exp * 1000);
  expect(Math.abs((credentials.refreshAt as number) - (Date.now() + 1_800_000))).toBeLessThan(
    5_000,
  );
});

test("a certificate Entra does not accept: invalid_client, permanent, naming ClientCertificateCredential", async () => {
  tokenEndpoint().reply(
    401,
    entraError(
      "invalid_client",
      "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.",
    ),
  );
  const source = entraIdServicePrincipal({
    tenantId: TENANT,
    clientId: CLIENT_ID,
    certificate: (await createClientCertificate()).pem,
    credentialOptions: noRetries,
  });
  const failure = (await fetchOnce(source).catch((caught: unknown) => caught)) as EntraIdError;
  expect((failure.cause as Error).name).toBe("AuthenticationRequiredError");
  expect(failure).toMatchObject({ code: "invalid_client", retryable: false });
  expect(isPermanent(failure)).toBe(true);
  expect(failure.message).toMatch(
    /^ClientCertificateCredential could not get a token .*secret or certificate is wrong or expired/,
  );
});

// Each row: what Entra answers, how @azure/identity 4 wraps it (pinned, so that an upgrade that
// changes the wrapping fails here), and what the source makes of it.
const refusals = [
  {
    status: 401,
    error: "invalid_client",
    aadsts: "AADSTS7000215: Invalid client secret provided.",
    retryable: false,
    hint: /secret or certificate is wrong or expired/,
  },
  {
    status: 400,
    error: "unauthorized_client",
    aadsts: "AADSTS700016: Application with identifier 'x' was not found in the directory.",
    retryable: false,
    hint: /client id and the tenant id/,
  },
  {
    status: 400,
    error: "invalid_scope",
    aadsts: "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
    retryable: false,
    hint: /https:\/\/redis\.azure\.com\/\.default/,
  },
  {
    status: 400,
    error: "invalid_request",
    aadsts: "AADSTS90002: Tenant 'x' not found.",
    retryable: false,
    hint: /tenant id/,
  },
  {
    status: 500,
    error: "server_error",
    aadsts: "AADSTS50000: There was an error issuing a token.",
    retryable: true,
    hint: /unavailable/,
  },
  {
    status: 503,
    error: "temporarily_unavailable",
    aadsts: "AADSTS50196: The server is temporarily unavailable.",
    retryable: true,
    hint: /unavailable/,
  },
];

test.each(refusals)(
  "HTTP $status $error: AuthenticationRequiredError from @azure/identity, $retryable retryable for us",
  async ({ status, error, aadsts, retryable, hint }) => {
    tokenEndpoint().reply(status, entraError(error, aadsts));
    const failure = await fetchOnce(secretSource()).catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(EntraIdError);
    const entra = failure as EntraIdError;
    const raw = entra.cause as Error;
    expect(raw.name).toBe("AuthenticationRequiredError");
    expect(raw.message.startsWith(`${error}:`)).toBe(true);
    expect(entra.code).toBe(error);
    expect(entra.retryable).toBe(retryable);
    expect(isPermanent(entra)).toBe(!retryable);
    expect(entra.message).toMatch(hint);
    expect(entra.message).toContain("ClientSecretCredential");
  },
);

test("an unreachable endpoint is network_error, retryable", async () => {
  tokenEndpoint().replyWithError(
    Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
  );
  const failure = (await fetchOnce(secretSource()).catch(
    (caught: unknown) => caught,
  )) as EntraIdError;
  expect((failure.cause as Error).name).toBe("AuthenticationRequiredError");
  expect(failure.code).toBe("network_error");
  expect(failure.retryable).toBe(true);
  expect(isPermanent(failure)).toBe(false);
});

test("a slow token endpoint: the manager's abort ends the attempt at once, and the next attempt succeeds", async () => {
  tokenEndpoint().delay(2_000).reply(200, tokenResponse(OID, 4_000).body);
  const source = secretSource();
  const controller = new AbortController();
  const started = Date.now();
  const attempt = fetchOnce(source, controller.signal).catch((caught: unknown) => caught);
  setTimeout(() => controller.abort(new Error("attempt timed out")), 100);
  const failure = (await attempt) as Error;
  expect(failure.message).toBe("attempt timed out");
  expect(Date.now() - started).toBeLessThan(1_500);

  const answer = tokenResponse(OID, 4_000);
  tokenEndpoint().reply(200, answer.body);
  await expect(fetchOnce(source)).resolves.toMatchObject({ username: OID });
});

test("rotation: a token close to expiry is fetched anew; one with an hour left comes from MSAL's cache and the manager keeps it without a network request", async () => {
  // MSAL counts a cached token as expired 5 minutes before it is: a 4-minute token is never reused.
  const first = tokenResponse(OID, 240);
  const second = tokenResponse(OID, 240);
  tokenEndpoint().reply(200, first.body);
  tokenEndpoint().reply(200, second.body);
  const source = secretSource();
  expect((await fetchOnce(source)).password).toBe(first.accessToken);
  expect((await fetchOnce(source)).password).toBe(second.accessToken);

  const hour = tokenResponse(OID, 3_600);
  const onlyOnce = tokenEndpoint().once().reply(200, hour.body);
  const cached = secretSource();
  const manager = createTokenManager(cached, { minRefreshIntervalMs: 1 });
  const held = await manager.getCredentials();
  const refreshed = jest.fn();
  manager.on("refreshed", refreshed);
  const again = await manager.refresh();
  expect(onlyOnce.isDone()).toBe(true);
  expect(again.password).toBe(held.password);
  expect(refreshed).not.toHaveBeenCalled();
  expect(manager.status().counters.fetches).toBe(2);
  await manager.dispose();
});

test("a permanent refusal stops the manager's retries; the error reaches refreshFailed without the secret", async () => {
  const endpoint = tokenEndpoint()
    .times(5)
    .reply(401, entraError("invalid_client", "AADSTS7000215: Invalid client secret provided."));
  const manager = createTokenManager(secretSource(), {
    retry: { initialDelayMs: 10, maxDelayMs: 20 },
  });
  const failures: Error[] = [];
  manager.on("refreshFailed", (error) => failures.push(error));
  await expect(manager.getCredentials()).rejects.toThrow(/invalid_client/);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(failures).toHaveLength(1);
  expect(endpoint.pendingMocks()).toHaveLength(1);
  expect(`${failures[0]?.message} ${inspect(failures[0])}`).not.toContain("the-secret");
  await manager.dispose();
});
