import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isPermanent } from "@redis-credentials/core";
import { gcpIam } from "@redis-credentials/gcp-iam";
import { type BaseExternalAccountClient, ExternalAccountClient } from "google-auth-library";
import nock from "nock";
import {
  accessToken,
  expectNoSecrets,
  failure,
  fetchOnce,
  IAM_CREDENTIALS,
  isolateGoogleEnvironment,
  SERVICE_ACCOUNT,
  STS,
  tokenBody,
} from "../google-helpers";

// Workload identity federation with an identity pool: the library reads a subject token (an OIDC
// token of another platform: a Kubernetes service account token, a CI job's) from a file and
// exchanges it at Google's Security Token Service, optionally then impersonating a service account.
const env = isolateGoogleEnvironment();

const AUDIENCE =
  "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q";
const SUBJECT_TOKEN = "eyJhbGciOiJSUzI1NiJ9.subject-token-SECRET-payload.signature-part";

function identityPool(extra: Record<string, unknown> = {}): BaseExternalAccountClient {
  const file = join(env.home(), "subject-token");
  writeFileSync(file, SUBJECT_TOKEN);
  const client = ExternalAccountClient.fromJSON({
    type: "external_account",
    audience: AUDIENCE,
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    token_url: `${STS}/v1/token`,
    credential_source: { file },
    ...extra,
  });
  if (client === null) throw new Error("not an external account configuration");
  return client;
}

function stsExchange() {
  return nock(STS).post(
    "/v1/token",
    (body: Record<string, string>) =>
      body.grant_type === "urn:ietf:params:oauth:grant-type:token-exchange" &&
      body.audience === AUDIENCE &&
      body.subject_token === SUBJECT_TOKEN,
  );
}

test("the subject token is exchanged at STS; the source is named after the pool's provider", async () => {
  const token = accessToken("federated");
  const scope = stsExchange().reply(200, {
    ...tokenBody(token, 3_600),
    issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
  });
  const source = gcpIam({ auth: identityPool() });
  expect(source.name).toBe(`gcp-iam (workload identity federation (${AUDIENCE}))`);

  const before = Date.now();
  const credentials = await fetchOnce(source);
  expect(scope.isDone()).toBe(true);
  expect(credentials).toMatchObject({ username: "default", password: token });
  expect(credentials.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
  expect(credentials.expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
});

test("invalid_grant (the provider does not accept the token): permanent, shows no subject token", async () => {
  stsExchange().reply(400, {
    error: "invalid_grant",
    error_description:
      "The audience in ID Token [https://example.test] does not match the expected audience.",
  });
  const error = await failure(fetchOnce(gcpIam({ auth: identityPool() })));

  expect(error.code).toBe("invalid_grant");
  expect(error.status).toBe(400);
  expect(error.retryable).toBe(false);
  expect(isPermanent(error)).toBe(true);
  expect(error.message).toContain(
    `as workload identity federation (${AUDIENCE}) (invalid_grant, HTTP 400)`,
  );
  expect(error.message).toContain("attribute condition");
  expect(error.message).toContain("does not match the expected audience");
  // The library copies its request (the subject token in the body) onto the error: removed.
  expectNoSecrets(error, [SUBJECT_TOKEN]);
});

test("invalid_grant for a subject token that has expired: retried (the file is rewritten)", async () => {
  stsExchange().reply(400, {
    error: "invalid_grant",
    error_description: "ID Token issued at 1764000000 is stale to sign-in.",
  });
  const error = await failure(fetchOnce(gcpIam({ auth: identityPool() })));
  expect(error.code).toBe("invalid_grant");
  expect(error.retryable).toBe(true);
  expect(isPermanent(error)).toBe(false);
  expect(error.message).toContain("replace it soon");
  expectNoSecrets(error, [SUBJECT_TOKEN]);
});

test("the subject token file is missing: CredentialsFileUnreadable, retried (it may not be mounted yet)", async () => {
  const client = identityPool({ credential_source: { file: join(env.home(), "no-such-file") } });
  const error = await failure(fetchOnce(gcpIam({ auth: client })));
  expect(error.code).toBe("CredentialsFileUnreadable");
  expect(error.retryable).toBe(true);
  expect(error.message).toContain("credential_source");
});

test("impersonating a service account: named after it; a 403 (no workloadIdentityUser) is permanent", async () => {
  const impersonation = `${IAM_CREDENTIALS}/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`;
  const federated = accessToken("federated");
  stsExchange().reply(200, tokenBody(federated, 3_600));
  nock(IAM_CREDENTIALS)
    .post(`/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`)
    .reply(403, {
      error: {
        code: 403,
        message:
          "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        status: "PERMISSION_DENIED",
      },
    });
  const source = gcpIam({
    auth: identityPool({ service_account_impersonation_url: impersonation }),
  });
  const principal = `service account ${SERVICE_ACCOUNT} (impersonated through workload identity federation)`;
  expect(source.name).toBe(`gcp-iam (${principal})`);

  const error = await failure(fetchOnce(source));
  expect(error.code).toBe("PERMISSION_DENIED");
  expect(error.status).toBe(403);
  expect(isPermanent(error)).toBe(true);
  expect(error.message).toContain(`as ${principal} (PERMISSION_DENIED, HTTP 403)`);
  expect(error.message).toContain("roles/iam.workloadIdentityUser");
  expect(error.message).toContain("roles/memorystore.dbConnectionUser");
  expect(error.message).toContain("iam.serviceAccounts.getAccessToken");
  // The federated token went out as a bearer header: not kept on the error.
  expectNoSecrets(error, [SUBJECT_TOKEN, federated]);
});
