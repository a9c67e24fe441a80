import { AwsIamError, awsIam } from "@redis-credentials/aws-iam";
import {
  CredentialsFetchError,
  InvalidOptionsError,
  InvalidTokenError,
} from "@redis-credentials/core";
import {
  EntraIdError,
  entraId,
  entraIdManagedIdentity,
  entraIdServicePrincipal,
  entraIdWorkloadIdentity,
} from "@redis-credentials/entra-id";
import { GcpIamError, gcpIam } from "@redis-credentials/gcp-iam";
import { type BadInputContext, never } from "./bad-input-context";
import { type BadInputRow, type ErrorClass, SECRET } from "./bad-input-row";

const GUID = "11111111-2222-4333-8444-555555555555";

/** A TokenCredential whose getToken does `getToken`. */
function credential(getToken: () => unknown) {
  return { getToken } as never;
}

/** Options rows: `make(input)` throws InvalidOptionsError naming `name`. */
function optionRow(entry: string, input: string, make: () => unknown, name: string): BadInputRow {
  return { entry, input, run: make, error: InvalidOptionsError, message: name };
}

function entraIdRows(context: BadInputContext): BadInputRow[] {
  const fetchRow = (
    input: string,
    getToken: () => unknown,
    message: string,
    cause: ErrorClass = EntraIdError,
  ): BadInputRow => ({
    entry: "entra-id.entraId (fetch)",
    input,
    run: () => context.firstFetch(entraId({ credential: credential(getToken) })),
    error: CredentialsFetchError,
    message,
    cause,
  });
  return [
    optionRow("entra-id.entraId", "options a string", () => entraId("mi" as never), "`options`"),
    optionRow(
      "entra-id.entraId",
      "credential without getToken",
      () => entraId({ credential: {} as never }),
      "`credential`",
    ),
    optionRow(
      "entra-id.entraId",
      "scopes an empty array",
      () => entraId({ scopes: [] }),
      "`scopes`",
    ),
    optionRow(
      "entra-id.entraId",
      "scopes a number",
      () => entraId({ scopes: 42 as never }),
      "`scopes`",
    ),
    optionRow(
      "entra-id.entraId",
      "username blank",
      () => entraId({ username: "  " }),
      "`username`",
    ),
    optionRow(
      "entra-id.entraId",
      "unknown key credentail (typo of credential)",
      () => entraId({ credentail: credential(async () => null) } as never),
      "credentail",
    ),
    optionRow(
      "entra-id.entraId",
      "getTokenOptions a number",
      () => entraId({ credential: credential(async () => null), getTokenOptions: 5 as never }),
      "getTokenOptions",
    ),
    optionRow(
      "entra-id.entraIdManagedIdentity",
      "unknown key clientID (typo of clientId)",
      () => entraIdManagedIdentity({ clientID: GUID } as never),
      "clientID",
    ),
    optionRow(
      "entra-id.entraIdManagedIdentity",
      "clientId and objectId both",
      () => entraIdManagedIdentity({ clientId: GUID, objectId: GUID }),
      "clientId/objectId",
    ),
    optionRow(
      "entra-id.entraIdManagedIdentity",
      "clientId a number",
      () => entraIdManagedIdentity({ clientId: 42 as never }),
      "`clientId`",
    ),
    optionRow(
      "entra-id.entraIdManagedIdentity",
      "options null",
      () => entraIdManagedIdentity(null as never),
      "`options`",
    ),
    optionRow(
      "entra-id.entraIdServicePrincipal",
      "no secret nor certificate",
      () => entraIdServicePrincipal({ tenantId: GUID, clientId: GUID }),
      "clientSecret",
    ),
    optionRow(
      "entra-id.entraIdServicePrincipal",
      "tenantId empty",
      () => entraIdServicePrincipal({ tenantId: "", clientId: GUID, clientSecret: SECRET }),
      "`tenantId`",
    ),
    optionRow(
      "entra-id.entraIdServicePrincipal",
      "clientSecret and certificatePath both",
      () =>
        entraIdServicePrincipal({
          tenantId: GUID,
          clientId: GUID,
          clientSecret: SECRET,
          certificatePath: "/k.pem",
        }),
      "clientSecret/certificatePath",
    ),
    optionRow(
      "entra-id.entraIdServicePrincipal",
      "no options",
      () => entraIdServicePrincipal(undefined as never),
      "`options`",
    ),
    optionRow(
      "entra-id.entraIdServicePrincipal",
      "unknown key secret (for clientSecret)",
      () =>
        entraIdServicePrincipal({
          tenantId: GUID,
          clientId: GUID,
          clientSecret: SECRET,
          secret: SECRET,
        } as never),
      "secret",
    ),
    optionRow(
      "entra-id.entraIdWorkloadIdentity",
      "tenantId a number",
      () => entraIdWorkloadIdentity({ tenantId: 7 as never }),
      "`tenantId`",
    ),
    optionRow(
      "entra-id.entraIdWorkloadIdentity",
      "nothing given and no AZURE_* variables",
      () =>
        withoutEnv(["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"], () =>
          entraIdWorkloadIdentity({}),
        ),
      "tenantId/clientId/tokenFilePath",
    ),
    optionRow(
      "entra-id.entraIdWorkloadIdentity",
      "unknown key tokenFile (for tokenFilePath)",
      () =>
        entraIdWorkloadIdentity({
          tenantId: GUID,
          clientId: GUID,
          tokenFilePath: "/t",
          tokenFile: "/t",
        } as never),
      "tokenFile",
    ),
    fetchRow("getToken resolves null", async () => null, "returned no token"),
    fetchRow(
      "getToken resolves { token: 42 }",
      async () => ({ token: 42, expiresOnTimestamp: Date.now() + 60_000 }),
      "returned no token",
    ),
    fetchRow(
      "getToken resolves a token that is not a JWT (no username)",
      async () => ({ token: SECRET, expiresOnTimestamp: Date.now() + 60_000 }),
      "not a JWT",
      InvalidTokenError,
    ),
    fetchRow(
      "getToken rejects with a string",
      async () => {
        throw "AADSTS700016 application not found";
      },
      "AADSTS700016",
    ),
    {
      entry: "entra-id.entraId (fetch)",
      input: "getToken never settles (fetchTimeoutMs 300)",
      run: () => context.firstFetch(entraId({ credential: credential(() => never()) })),
      error: CredentialsFetchError,
      message: "within 300 ms (fetchTimeoutMs)",
      withinMs: 3_000,
    },
  ];
}

function awsIamRows(context: BadInputContext): BadInputRow[] {
  const base = { userId: "app-user", cacheName: "my-cache", region: "eu-west-1" };
  const keys = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: SECRET };
  const option = (input: string, options: unknown, name: string) =>
    optionRow("aws-iam.awsIam", input, () => awsIam(options as never), name);
  const provider = (input: string, credentials: unknown, message: string): BadInputRow => ({
    entry: "aws-iam.awsIam (fetch)",
    input,
    run: () => context.firstFetch(awsIam({ ...base, credentials: credentials as never })),
    error: CredentialsFetchError,
    message,
    cause: AwsIamError,
  });
  return [
    option("no options", undefined, "`options`"),
    option("no userId", { cacheName: "my-cache", region: "eu-west-1" }, "`userId`"),
    option("userId with a space", { ...base, userId: "app user" }, "`userId`"),
    option("no cacheName", { userId: "app-user", region: "eu-west-1" }, "`cacheName`"),
    option(
      "cacheName an endpoint host",
      { ...base, cacheName: "my-cache.abc.cache.amazonaws.com" },
      "`cacheName`",
    ),
    option("region not a region", { ...base, region: "Europe" }, "`region`"),
    option("service unknown", { ...base, service: "redis" }, "`service`"),
    option("serverless a string", { ...base, serverless: "yes" }, "`serverless`"),
    option(
      "serverless with memorydb",
      { ...base, service: "memorydb", serverless: true },
      "`serverless`",
    ),
    option(
      "expiresInSeconds 901 (out of range)",
      { ...base, expiresInSeconds: 901 },
      "`expiresInSeconds`",
    ),
    option("expiresInSeconds NaN", { ...base, expiresInSeconds: Number.NaN }, "`expiresInSeconds`"),
    option(
      "expiresInSeconds Infinity",
      { ...base, expiresInSeconds: Infinity },
      "`expiresInSeconds`",
    ),
    option("credentials a number", { ...base, credentials: 42 }, "`credentials`"),
    option(
      "credentials without secretAccessKey",
      { ...base, credentials: { accessKeyId: "AKIA" } },
      "secretAccessKey",
    ),
    option(
      "credentials expired",
      { ...base, credentials: { ...keys, expiration: new Date(Date.now() - 1_000) } },
      "`credentials`",
    ),
    option("unknown key username (for userId)", { ...base, username: "app-user" }, "`username`"),
    option(
      "unknown nested key credentials.session_token",
      { ...base, credentials: { ...keys, session_token: SECRET } },
      "session_token",
    ),
    provider("provider resolves {}", async () => ({}), "no accessKeyId"),
    provider("provider resolves a string", async () => SECRET, "accessKeyId"),
    provider(
      "provider rejects with a non-Error",
      async () => {
        throw { code: "CredentialsProviderError" };
      },
      "credential provider failed",
    ),
    {
      entry: "aws-iam.awsIam (fetch)",
      input: "provider never settles (fetchTimeoutMs 300)",
      run: () => context.firstFetch(awsIam({ ...base, credentials: () => never() })),
      error: CredentialsFetchError,
      message: "within 300 ms (fetchTimeoutMs)",
      withinMs: 3_000,
    },
  ];
}

function gcpIamRows(context: BadInputContext): BadInputRow[] {
  const client = (getAccessToken: () => unknown) => ({ getAccessToken }) as never;
  const option = (input: string, options: unknown, name: string) =>
    optionRow("gcp-iam.gcpIam", input, () => gcpIam(options as never), name);
  const fetchRow = (
    input: string,
    getAccessToken: () => unknown,
    message: string,
  ): BadInputRow => ({
    entry: "gcp-iam.gcpIam (fetch)",
    input,
    run: () => context.firstFetch(gcpIam({ auth: client(getAccessToken) })),
    error: CredentialsFetchError,
    message,
    cause: GcpIamError,
  });
  return [
    option("options a string", "default", "`options`"),
    option("auth an object with neither method", { auth: {} }, "`auth`"),
    option("auth a number", { auth: 42 }, "`auth`"),
    option("scopes an empty array", { scopes: [] }, "`scopes`"),
    option("username empty", { username: "" }, "`username`"),
    option("username with a newline", { username: "default\r\nFLUSHALL" }, "`username`"),
    option("unknown key keyFile", { keyFile: "/key.json" }, "keyFile"),
    option(
      "scopes beside a custom auth",
      { auth: client(async () => ({})), scopes: "x" },
      "`scopes`",
    ),
    fetchRow(
      "getAccessToken resolves { token: null }",
      async () => ({ token: null }),
      "no access token",
    ),
    fetchRow(
      "getAccessToken resolves { token: 42 }",
      async () => ({ token: 42 }),
      "no access token",
    ),
    fetchRow(
      "getAccessToken rejects with a string",
      async () => {
        throw "metadata server unreachable";
      },
      "metadata server unreachable",
    ),
    {
      entry: "gcp-iam.gcpIam (fetch)",
      input: "getAccessToken never settles (fetchTimeoutMs 300)",
      run: () => context.firstFetch(gcpIam({ auth: client(() => never()) })),
      error: CredentialsFetchError,
      message: "within 300 ms (fetchTimeoutMs)",
      withinMs: 3_000,
    },
  ];
}

/** Runs `make` with `names` unset in the environment. */
function withoutEnv<T>(names: string[], make: () => T): T {
  const saved = names.map((name) => [name, process.env[name]] as const);
  for (const name of names) delete process.env[name];
  try {
    return make();
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}

export function sourceRows(context: BadInputContext): BadInputRow[] {
  return [...entraIdRows(context), ...awsIamRows(context), ...gcpIamRows(context)];
}
