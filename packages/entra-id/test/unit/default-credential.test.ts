import { DefaultAzureCredential } from "@azure/identity";
import { isPermanent } from "@redis-credentials/core";
import { EntraIdError, entraId } from "@redis-credentials/entra-id";
import nock from "nock";
import {
  CLIENT_ID,
  entraError,
  fetchOnce,
  IMDS,
  mockEntraDiscovery,
  TENANT,
  tokenEndpoint,
  tokenResponse,
} from "../entra-nock";

// DefaultAzureCredential tries EnvironmentCredential first: with these variables, a service
// principal secret. The developer-tool credentials after it (Azure CLI, PowerShell, azd) are not
// installed here and say so.
const variables = {
  AZURE_TENANT_ID: TENANT,
  AZURE_CLIENT_ID: CLIENT_ID,
  AZURE_CLIENT_SECRET: "env-secret",
};
const saved = { ...process.env };
beforeAll(() => Object.assign(process.env, variables));
afterAll(() => {
  process.env = saved;
});
beforeEach(() => {
  nock.cleanAll();
  mockEntraDiscovery();
  // Managed identity, later in the chain, finds no IMDS on this machine.
  nock(IMDS)
    .persist()
    .get(/.*/)
    .replyWithError(Object.assign(new Error("connect EHOSTUNREACH"), { code: "EHOSTUNREACH" }));
});
afterEach(() => {
  nock.abortPendingRequests();
  nock.cleanAll();
});

const defaultSource = () =>
  entraId({ credential: new DefaultAzureCredential({ retryOptions: { maxRetries: 0 } }) });

test("entraId() with no credential uses DefaultAzureCredential, which uses the environment's service principal", async () => {
  const answer = tokenResponse("env-oid", 3_600);
  tokenEndpoint().reply(200, (_uri, body) => {
    expect(new URLSearchParams(String(body)).get("client_secret")).toBe("env-secret");
    return answer.body;
  });
  const source = entraId();
  expect(source.name).toBe("entra-id (DefaultAzureCredential)");
  const credentials = await fetchOnce(source);
  expect(credentials.username).toBe("env-oid");
});

test.each([
  {
    error: "invalid_client",
    aadsts: "AADSTS7000215: Invalid client secret provided.",
    retryable: false,
  },
  {
    error: "temporarily_unavailable",
    aadsts: "AADSTS50196: The server is temporarily unavailable.",
    retryable: true,
  },
])(
  "$error through DefaultAzureCredential: classified from EnvironmentCredential's error; retryable: $retryable",
  async ({ error, aadsts, retryable }) => {
    tokenEndpoint()
      .times(3)
      .reply(error === "invalid_client" ? 401 : 503, entraError(error, aadsts));
    const failure = (await fetchOnce(defaultSource()).catch((e: unknown) => e)) as EntraIdError;
    expect(failure).toBeInstanceOf(EntraIdError);
    const raw = failure.cause as Error;
    // EnvironmentCredential turns any failure into an AuthenticationError with status 400, and the
    // chain stops there and throws it as it is.
    const environment = raw as Error & {
      statusCode: number;
      errorResponse: { errorDescription: string };
    };
    expect(environment.name).toBe("AuthenticationError");
    expect(environment.statusCode).toBe(400);
    expect(environment.errorResponse.errorDescription).toContain(`${error}:`);
    expect(failure.code).toBe(error);
    expect(failure.retryable).toBe(retryable);
    expect(isPermanent(failure)).toBe(!retryable);
  },
  20_000,
);

test("no credential anywhere (no variables, no IMDS, no developer tools): AggregateAuthenticationError, permanent, and the message says what to set up", async () => {
  for (const name of Object.keys(variables)) delete process.env[name];
  try {
    const failure = (await fetchOnce(defaultSource()).catch((e: unknown) => e)) as EntraIdError;
    const raw = failure.cause as Error & { errors: Error[] };
    expect(raw.name).toBe("AggregateAuthenticationError");
    expect(raw.errors.every((member) => member.name === "CredentialUnavailableError")).toBe(true);
    expect(failure.code).toBe("credential_unavailable");
    expect(failure.retryable).toBe(false);
    expect(isPermanent(failure)).toBe(true);
    expect(failure.message).toMatch(/DefaultAzureCredential could not get a token/);
    expect(failure.message).toMatch(/enable a managed identity.*AZURE_CLIENT_SECRET.*az login/);
  } finally {
    Object.assign(process.env, variables);
  }
}, 20_000);
