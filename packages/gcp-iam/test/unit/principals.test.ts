import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isPermanent } from "@redis-credentials/core";
import { type GcpIamOptions, gcpIam } from "@redis-credentials/gcp-iam";
import {
  AuthClient,
  type BaseExternalAccountClient,
  Compute,
  ExternalAccountClient,
  GoogleAuth,
  Impersonated,
  JWT,
  UserRefreshClient,
} from "google-auth-library";
import nock from "nock";
import {
  accessToken,
  CLOUD_PLATFORM,
  expectNoSecrets,
  failure,
  fastRetries,
  fetchOnce,
  IAM_CREDENTIALS,
  isolateGoogleEnvironment,
  OAUTH,
  privateKeyParts,
  SERVICE_ACCOUNT,
  STS,
  serviceAccountKey,
  tokenBody,
} from "../google-helpers";

// Who the source is named after, and who its errors name: the principal to grant roles to.
const env = isolateGoogleEnvironment();

const TARGET = "memorystore-user@orders-prod.iam.gserviceaccount.com";
const AUDIENCE =
  "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q";

class VaultClient extends AuthClient {
  async getAccessToken() {
    return { token: "from-vault" };
  }
  async getRequestHeaders() {
    return new Headers();
  }
  async request(): Promise<never> {
    throw new Error("not used");
  }
}

function identityPool(impersonate: boolean): BaseExternalAccountClient {
  const file = join(env.home(), "subject-token");
  writeFileSync(file, "subject");
  const client = ExternalAccountClient.fromJSON({
    type: "external_account",
    audience: AUDIENCE,
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    token_url: `${STS}/v1/token`,
    credential_source: { file },
    ...(impersonate
      ? {
          service_account_impersonation_url: `${IAM_CREDENTIALS}/v1/projects/-/serviceAccounts/${TARGET}:generateAccessToken`,
        }
      : {}),
  });
  if (client === null) throw new Error("not an external account configuration");
  return client;
}

function serviceAccount(): JWT {
  return new JWT({
    email: SERVICE_ACCOUNT,
    key: serviceAccountKey().privateKey,
    scopes: [CLOUD_PLATFORM],
    transporterOptions: fastRetries,
  });
}

const principals: {
  title: string;
  auth: () => NonNullable<GcpIamOptions["auth"]>;
  principal: string;
}[] = [
  {
    title: "a service account key",
    auth: () => serviceAccount(),
    principal: `service account ${SERVICE_ACCOUNT}`,
  },
  {
    title: "the metadata server's default service account",
    auth: () => new Compute(),
    principal: "the default service account of the metadata server",
  },
  {
    title: "a named service account of the metadata server",
    auth: () => new Compute({ serviceAccountEmail: TARGET }),
    principal: `service account ${TARGET} (metadata server)`,
  },
  {
    title: "gcloud user credentials",
    auth: () =>
      new UserRefreshClient({ clientId: "client-1", clientSecret: "s", refreshToken: "r" }),
    principal: "gcloud user credentials (client id client-1)",
  },
  {
    title: "an impersonated service account",
    auth: () => new Impersonated({ sourceClient: serviceAccount(), targetPrincipal: TARGET }),
    principal: `service account ${TARGET} (impersonated)`,
  },
  {
    title: "workload identity federation",
    auth: () => identityPool(false),
    principal: `workload identity federation (${AUDIENCE})`,
  },
  {
    title: "workload identity federation impersonating",
    auth: () => identityPool(true),
    principal: `service account ${TARGET} (impersonated through workload identity federation)`,
  },
  { title: "a subclass of AuthClient", auth: () => new VaultClient(), principal: "VaultClient" },
  {
    title: "a plain object with getAccessToken",
    auth: () => ({ getAccessToken: async () => ({}) }),
    principal: "AuthClient",
  },
  {
    title: "your own GoogleAuth",
    auth: () => new GoogleAuth({ scopes: CLOUD_PLATFORM }),
    principal: "GoogleAuth",
  },
];

test.each(principals)("$title: gcp-iam ($principal)", ({ auth, principal }) => {
  expect(gcpIam({ auth: auth() }).name).toBe(`gcp-iam (${principal})`);
});

test("Impersonated: a token of the target; the expiry is the one IAM gave", async () => {
  const sourceToken = accessToken("source");
  const token = accessToken("impersonated");
  const expireTime = new Date(Date.now() + 3_600_000).toISOString();
  nock(OAUTH).post("/token").reply(200, tokenBody(sourceToken));
  const generate = nock(IAM_CREDENTIALS, {
    reqheaders: { authorization: `Bearer ${sourceToken}` },
  })
    .post(`/v1/projects/-/serviceAccounts/${TARGET}:generateAccessToken`, (body) =>
      body.scope.includes(CLOUD_PLATFORM),
    )
    .reply(200, { accessToken: token, expireTime });
  const auth = new Impersonated({
    sourceClient: serviceAccount(),
    targetPrincipal: TARGET,
    targetScopes: [CLOUD_PLATFORM],
  });
  const credentials = await fetchOnce(gcpIam({ auth }));
  expect(generate.isDone()).toBe(true);
  expect(credentials.password).toBe(token);
  expect(credentials.expiresAt).toBe(Date.parse(expireTime));
});

test("Impersonated without roles/iam.serviceAccountTokenCreator: a permanent 403 naming the target", async () => {
  const sourceToken = accessToken("source");
  nock(OAUTH).post("/token").reply(200, tokenBody(sourceToken));
  nock(IAM_CREDENTIALS)
    .post(`/v1/projects/-/serviceAccounts/${TARGET}:generateAccessToken`)
    .reply(403, {
      error: {
        code: 403,
        message:
          "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        status: "PERMISSION_DENIED",
      },
    });
  const auth = new Impersonated({
    sourceClient: serviceAccount(),
    targetPrincipal: TARGET,
    targetScopes: [CLOUD_PLATFORM],
  });
  const error = await failure(fetchOnce(gcpIam({ auth })));
  expect(error.code).toBe("PERMISSION_DENIED");
  expect(error.status).toBe(403);
  expect(isPermanent(error)).toBe(true);
  expect(error.message).toContain(
    `as service account ${TARGET} (impersonated) (PERMISSION_DENIED, HTTP 403)`,
  );
  expect(error.message).toContain("roles/iam.serviceAccountTokenCreator");
  expect(error.message).toContain(
    "roles/memorystore.dbConnectionUser (Memorystore for Valkey) or roles/redis.dbConnectionUser (Memorystore for Redis Cluster)",
  );
  // The source's token went out as a bearer header.
  expectNoSecrets(error, [sourceToken, ...privateKeyParts()]);
});
