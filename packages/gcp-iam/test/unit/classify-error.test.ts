import { classifyGcpIamError } from "@redis-credentials/gcp-iam";

// The classification alone, on the shapes google-auth-library's errors take that the HTTP tests
// do not produce (they go through nock and Node's fetch): node-fetch's system errors, wrapped
// ones, messages without a response, Google API error bodies.

const at = (url: string) => ({ config: { url: new URL(url) } });

test.each([
  ["a string", "boom"],
  ["null", null],
  ["undefined", undefined],
  ["a number", 42],
])("%s thrown: ProviderError, retryable", (_title, value) => {
  expect(classifyGcpIamError(value)).toMatchObject({ code: "ProviderError", retryable: true });
});

test.each([
  [
    "node-fetch's system error (code on the GaxiosError)",
    {
      message:
        "request to https://oauth2.googleapis.com/token failed, reason: connect ECONNREFUSED",
      code: "ECONNREFUSED",
    },
  ],
  [
    "Node's fetch (code two causes down)",
    (() => {
      const system = Object.assign(new Error("getaddrinfo ENOTFOUND oauth2.googleapis.com"), {
        code: "ENOTFOUND",
      });
      const fetchError = new TypeError("fetch failed", { cause: system });
      return Object.assign(new Error("fetch failed", { cause: fetchError }), { error: fetchError });
    })(),
  ],
  [
    "gaxios' timeout",
    { message: "The operation was aborted due to timeout", code: "TimeoutError" },
  ],
  ["node-fetch's timeout", { message: "network timeout", type: "request-timeout" }],
  ["a DNS hiccup", { message: "getaddrinfo EAI_AGAIN", code: "EAI_AGAIN" }],
])("%s: NetworkError, retryable", (_title, error) => {
  expect(classifyGcpIamError(error)).toMatchObject({ code: "NetworkError", retryable: true });
  expect(classifyGcpIamError(error).status).toBeUndefined();
});

test("a Google API error body: its status is the code", () => {
  const info = classifyGcpIamError({
    ...at(
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b:generateAccessToken",
    ),
    message: "PERMISSION_DENIED: unable to impersonate: Permission denied",
    status: 403,
    response: {
      status: 403,
      data: { error: { code: 403, message: "Permission denied", status: "PERMISSION_DENIED" } },
    },
  });
  expect(info).toMatchObject({
    code: "PERMISSION_DENIED",
    status: 403,
    retryable: false,
    description: "Permission denied",
  });
  expect(info.hint).toContain("roles/iam.serviceAccountTokenCreator");
  expect(info.hint).toContain("roles/memorystore.dbConnectionUser");
  expect(info.hint).toContain("roles/redis.dbConnectionUser");
});

test("RESOURCE_EXHAUSTED: Throttling", () => {
  expect(
    classifyGcpIamError({
      status: 400,
      response: { status: 400, data: { error: { code: 400, status: "RESOURCE_EXHAUSTED" } } },
    }),
  ).toMatchObject({ code: "Throttling", retryable: true, status: 400 });
});

test.each([
  ["the STS message", "Error code invalid_grant: The token is invalid."],
  ["gtoken's message", "invalid_grant: Invalid JWT Signature."],
  ["the refresh client's message", "invalid_grant"],
])("invalid_grant read from %s when no body is left: permanent", (_title, message) => {
  expect(classifyGcpIamError(new Error(message))).toMatchObject({
    code: "invalid_grant",
    retryable: false,
  });
});

test("PERMISSION_DENIED read from Impersonated's message: permanent", () => {
  expect(
    classifyGcpIamError(new Error("PERMISSION_DENIED: unable to impersonate: denied")),
  ).toMatchObject({ code: "PERMISSION_DENIED", retryable: false });
});

test("an OAuth code this package does not know: kept as the code, retried", () => {
  expect(
    classifyGcpIamError({
      ...at("https://sts.googleapis.com/v1/token"),
      status: 400,
      response: {
        status: 400,
        data: {
          error: "invalid_target",
          error_description:
            'The target service indicated by the "audience" parameters is invalid.',
        },
      },
    }),
  ).toMatchObject({ code: "invalid_target", status: 400, retryable: true });
});

test.each([
  [408, "ServiceUnavailable"],
  [500, "ServiceUnavailable"],
  [502, "ServiceUnavailable"],
  [504, "ServiceUnavailable"],
  [429, "Throttling"],
])("HTTP %i: %s, retried", (status, code) => {
  expect(classifyGcpIamError({ status, response: { status } })).toMatchObject({
    code,
    status,
    retryable: true,
  });
});

test("temporarily_unavailable with a 400: ServiceUnavailable", () => {
  expect(
    classifyGcpIamError({
      status: 400,
      response: { status: 400, data: { error: "temporarily_unavailable" } },
    }),
  ).toMatchObject({ code: "ServiceUnavailable", retryable: true });
});

test("the metadata server without this service account (404): retried, with what to check", () => {
  const info = classifyGcpIamError({
    ...at("http://169.254.169.254/computeMetadata/v1/instance/service-accounts/x@y/token"),
    message: "Could not refresh access token: Not Found",
    status: 404,
    response: { status: 404, data: "Not Found" },
  });
  expect(info).toMatchObject({ code: "ProviderError", status: 404, retryable: true });
  expect(info.hint).toContain("attach a service account");
});

test("an answer without Metadata-Flavor: something else answered; retried", () => {
  const info = classifyGcpIamError(
    new RangeError(
      "Invalid response from metadata service: incorrect Metadata-Flavor header. Expected 'Google', got no header",
    ),
  );
  expect(info).toMatchObject({ code: "ProviderError", retryable: true });
  expect(info.hint).toContain("GCE_METADATA_HOST");
});

test("a key file that is not there: CredentialsFileUnreadable", () => {
  const error = Object.assign(new Error("ENOENT: no such file or directory, open '/k.json'"), {
    code: "ENOENT",
    path: "/k.json",
  });
  expect(classifyGcpIamError(error)).toMatchObject({
    code: "CredentialsFileUnreadable",
    retryable: true,
  });
});
