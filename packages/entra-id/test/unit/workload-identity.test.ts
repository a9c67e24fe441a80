import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isPermanent } from "@redis-credentials/core";
import { EntraIdError, entraIdWorkloadIdentity } from "@redis-credentials/entra-id";
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

// What the AKS workload identity webhook gives a pod: a projected service account token in a
// file (renewed by the kubelet) that Entra ID exchanges for an access token.
const folder = mkdtempSync(join(tmpdir(), "entra-wi-"));
const tokenFile = join(folder, "azure-identity-token");
afterAll(() => rmSync(folder, { recursive: true, force: true }));
beforeEach(() => {
  nock.cleanAll();
  mockEntraDiscovery();
  writeFileSync(tokenFile, "service-account-token-1");
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

const options = {
  tenantId: TENANT,
  clientId: CLIENT_ID,
  tokenFilePath: tokenFile,
  credentialOptions: noRetries,
};

test("the federated token exchange: the file's token goes as client_assertion; the answer's oid is the user name", async () => {
  const answer = tokenResponse("pod-oid", 3_600);
  const exchange = tokenEndpoint().reply(200, (_uri, body) => {
    const form = new URLSearchParams(String(body));
    expect(form.get("client_assertion")).toBe("service-account-token-1");
    expect(form.get("client_assertion_type")).toBe(
      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    );
    expect(form.get("client_id")).toBe(CLIENT_ID);
    return answer.body;
  });
  const credentials = await fetchOnce(entraIdWorkloadIdentity(options));
  expect(exchange.isDone()).toBe(true);
  expect(credentials.username).toBe("pod-oid");
});

test("rotation: a token close to expiry is exchanged anew (the file is re-read when @azure/identity's copy is 5 minutes old)", async () => {
  const source = entraIdWorkloadIdentity(options);
  const seen: string[] = [];
  tokenEndpoint()
    .times(2)
    .reply(200, (_uri, body) => {
      seen.push(new URLSearchParams(String(body)).get("client_assertion") ?? "");
      return tokenResponse("pod-oid", 200).body;
    });
  const first = await fetchOnce(source);
  writeFileSync(tokenFile, "service-account-token-2");
  const second = await fetchOnce(source);
  expect(second.password).not.toBe(first.password);
  expect(seen).toEqual(["service-account-token-1", "service-account-token-1"]);
});

test.each([
  {
    error: "invalid_client",
    aadsts: "AADSTS70021: No matching federated identity record found for presented assertion.",
    retryable: false,
  },
  {
    error: "invalid_grant",
    aadsts: "AADSTS700024: Client assertion is not within its valid time range.",
    retryable: true,
  },
  {
    error: "temporarily_unavailable",
    aadsts: "AADSTS50196: The server is temporarily unavailable.",
    retryable: true,
  },
])(
  "$error ($aadsts): AuthenticationRequiredError; retryable: $retryable",
  async ({ error, aadsts, retryable }) => {
    tokenEndpoint().reply(400, entraError(error, aadsts));
    const failure = (await fetchOnce(entraIdWorkloadIdentity(options)).catch(
      (e: unknown) => e,
    )) as EntraIdError;
    expect(failure).toBeInstanceOf(EntraIdError);
    expect((failure.cause as Error).name).toBe("AuthenticationRequiredError");
    expect(failure.code).toBe(error);
    expect(failure.retryable).toBe(retryable);
    expect(isPermanent(failure)).toBe(!retryable);
  },
);

test("without the webhook's variables or options: a typed error naming what is missing", () => {
  const saved = { ...process.env };
  delete process.env.AZURE_TENANT_ID;
  delete process.env.AZURE_CLIENT_ID;
  delete process.env.AZURE_FEDERATED_TOKEN_FILE;
  try {
    expect(() => entraIdWorkloadIdentity()).toThrow(
      /tenantId\/clientId\/tokenFilePath.*AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE/,
    );
  } finally {
    process.env = saved;
  }
});
