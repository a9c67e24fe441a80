import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isPermanent } from "@redis-credentials/core";
import { gcpIam } from "@redis-credentials/gcp-iam";
import nock from "nock";
import {
  accessToken,
  CLOUD_PLATFORM,
  counted,
  expectNoSecrets,
  failure,
  fetchOnce,
  isolateGoogleEnvironment,
  METADATA,
  METADATA_HEADERS,
  METADATA_HOST,
  OAUTH,
  privateKeyParts,
  SERVICE_ACCOUNT,
  serviceAccountKey,
  tokenBody,
} from "../google-helpers";

// gcpIam() without `auth`: a GoogleAuth of its own, that is Application Default Credentials, as
// google-auth-library finds them. The metadata server (Compute Engine, GKE, Cloud Run) is nock
// answering for GCE_METADATA_HOST, as a local metadata emulator would; gcp-metadata remembers
// per module registry (this file) that it found one, so only the first test is asked to detect.
const env = isolateGoogleEnvironment();

const TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";
const METADATA_PRINCIPAL = "the default service account of the metadata server";

/**
 * The metadata server of a VM in project `orders-prod`. GOOGLE_CLOUD_PROJECT is set, as Cloud Run
 * and GKE workloads often have it: without a project id, the library runs `gcloud config
 * config-helper`, in the environment of the Jest worker (child_process does not see the test's
 * process.env), which would reach a developer's own gcloud.
 */
function metadataServer(): void {
  process.env.GCE_METADATA_HOST = METADATA_HOST;
  process.env.GOOGLE_CLOUD_PROJECT = "orders-prod";
  const server = nock(METADATA, { reqheaders: { "Metadata-Flavor": "Google" } });
  server.get("/computeMetadata/v1/instance").optionally().reply(200, "", METADATA_HEADERS);
  server
    .get("/computeMetadata/v1/project/project-id")
    .optionally()
    .reply(200, "orders-prod", METADATA_HEADERS);
  server.get("/computeMetadata/v1/universe/universe-domain").optionally().reply(404);
}

function tokenEndpoint() {
  return nock(METADATA, { reqheaders: { "Metadata-Flavor": "Google" } })
    .get(TOKEN_PATH)
    .query((query) => query.scopes === CLOUD_PLATFORM);
}

describe("the metadata server", () => {
  test("a token of the VM's service account, for the cloud-platform scope", async () => {
    metadataServer();
    const token = accessToken("metadata");
    const scope = tokenEndpoint().reply(
      200,
      { access_token: token, expires_in: 3_599, token_type: "Bearer" },
      METADATA_HEADERS,
    );
    const source = gcpIam();
    expect(source.name).toBe("gcp-iam (Application Default Credentials)");

    const before = Date.now();
    const credentials = await fetchOnce(source);
    expect(scope.isDone()).toBe(true);
    expect(credentials).toMatchObject({ username: "default", password: token });
    expect(credentials.expiresAt).toBeGreaterThanOrEqual(before + 3_599_000);
    expect(credentials.expiresAt).toBeLessThanOrEqual(Date.now() + 3_599_000);
    // Cached by the library: asked again, the same token, and no request.
    expect((await fetchOnce(source)).password).toBe(token);
  });

  test("an outage (503 at every try of the library): ServiceUnavailable, retried", async () => {
    metadataServer();
    const endpoint = counted(() => [503, "Service Unavailable"] as const);
    tokenEndpoint().times(10).reply(endpoint.reply);
    const error = await failure(fetchOnce(gcpIam()));

    // gcp-metadata retries a 5xx three times.
    expect(endpoint.count).toBe(4);
    expect(error.code).toBe("ServiceUnavailable");
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    expect(isPermanent(error)).toBe(false);
    expect(error.message).toContain(`as ${METADATA_PRINCIPAL} (ServiceUnavailable, HTTP 503)`);
  });

  test("403 (the VM lacks the cloud-platform access scope): permanent, says so", async () => {
    metadataServer();
    tokenEndpoint().reply(403, "Forbidden", METADATA_HEADERS);
    const error = await failure(fetchOnce(gcpIam()));
    expect(error.code).toBe("PERMISSION_DENIED");
    expect(error.status).toBe(403);
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain(`as ${METADATA_PRINCIPAL} (PERMISSION_DENIED, HTTP 403)`);
    expect(error.message).toContain("access scopes must include cloud-platform");
    expect(error.message).toContain("roles/redis.dbConnectionUser");
  });
});

test("no credentials anywhere: CredentialsNotFound, retried, saying how to set them up", async () => {
  process.env.METADATA_SERVER_DETECTION = "none";
  const error = await failure(fetchOnce(gcpIam()));
  expect(error.code).toBe("CredentialsNotFound");
  expect(error.retryable).toBe(true);
  expect(isPermanent(error)).toBe(false);
  expect(error.message).toContain("as Application Default Credentials (CredentialsNotFound)");
  for (const advice of [
    "GOOGLE_APPLICATION_CREDENTIALS",
    "gcloud auth application-default login",
    "metadata server",
    "pass `auth` to gcpIam()",
  ]) {
    expect(error.message).toContain(advice);
  }
});

describe("GOOGLE_APPLICATION_CREDENTIALS", () => {
  test("a service account key file: its service account's tokens; a refusal names it, never the key", async () => {
    const file = join(env.home(), "key.json");
    writeFileSync(
      file,
      JSON.stringify({
        type: "service_account",
        project_id: "orders-prod",
        private_key_id: "0123456789abcdef",
        private_key: serviceAccountKey().privateKey,
        client_email: SERVICE_ACCOUNT,
        client_id: "100000000000000000001",
        token_uri: `${OAUTH}/token`,
      }),
    );
    process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
    const token = accessToken();
    nock(OAUTH).post("/token").reply(200, tokenBody(token));
    const source = gcpIam();
    expect((await fetchOnce(source)).password).toBe(token);

    const other = gcpIam();
    nock(OAUTH)
      .post("/token")
      .reply(400, { error: "invalid_grant", error_description: "Invalid JWT Signature." });
    const error = await failure(fetchOnce(other));
    expect(error.code).toBe("invalid_grant");
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain(`as service account ${SERVICE_ACCOUNT} (invalid_grant`);
    expectNoSecrets(error, [token, ...privateKeyParts()]);
  });

  test("naming a file that is not there: CredentialsFileUnreadable, retried", async () => {
    process.env.GOOGLE_APPLICATION_CREDENTIALS = join(env.home(), "missing.json");
    const error = await failure(fetchOnce(gcpIam()));
    expect(error.code).toBe("CredentialsFileUnreadable");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("GOOGLE_APPLICATION_CREDENTIALS");
  });
});

test("scopes for the default GoogleAuth reach the metadata server", async () => {
  metadataServer();
  const scopes = [CLOUD_PLATFORM, "https://www.googleapis.com/auth/userinfo.email"];
  const scope = nock(METADATA)
    .get(TOKEN_PATH)
    .query((query) => query.scopes === scopes.join(","))
    .reply(200, tokenBody(accessToken()), METADATA_HEADERS);
  await fetchOnce(gcpIam({ scopes }));
  expect(scope.isDone()).toBe(true);
});
