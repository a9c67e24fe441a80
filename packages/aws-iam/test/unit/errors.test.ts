import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import {
  fromContainerMetadata,
  fromIni,
  fromTemporaryCredentials,
  fromTokenFile,
} from "@aws-sdk/credential-providers";
import { AwsIamError, awsIam, classifyAwsIamError } from "@redis-credentials/aws-iam";
import { CredentialsError, isPermanent } from "@redis-credentials/core";
import nock from "nock";
import {
  ACCESS_KEY_ID,
  ECS,
  fetchOnce,
  IMDS,
  interceptAwsHttp,
  isolateAwsEnvironment,
  REGION,
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
  STS,
  signatureVerifies,
  stsError,
  xml,
} from "../aws-helpers";

// Every error below is the real one the AWS SDK throws, triggered through HTTP answers (nock) or
// the environment, then classified: only clear configuration errors are permanent.
const env = isolateAwsEnvironment();
interceptAwsHttp();

const options = { userId: "orders-app", cacheName: "orders-cache", region: REGION };
const WEB_IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.service-account-token-SECRET.sig";
const ROLE_ARN = "arn:aws:iam::123456789012:role/orders-cache";

async function failure(promise: Promise<unknown>): Promise<AwsIamError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AwsIamError);
  expect(error).toBeInstanceOf(CredentialsError);
  expect((error as Error).name).toBe("AwsIamError");
  return error as AwsIamError;
}

/** Whatever is secret in a test never shows in the error, however it is printed. */
function expectNoSecrets(error: Error, secrets: string[] = []) {
  const printed = [error.message, String(error), inspect(error, { depth: 10 })].join("\n");
  for (const secret of [SECRET_ACCESS_KEY, SESSION_TOKEN, WEB_IDENTITY_TOKEN, ...secrets]) {
    expect(printed).not.toContain(secret);
  }
}

function webIdentityEnvironment() {
  const tokenFile = join(env.home(), "eks-token");
  writeFileSync(tokenFile, WEB_IDENTITY_TOKEN);
  process.env.AWS_WEB_IDENTITY_TOKEN_FILE = tokenFile;
  process.env.AWS_ROLE_ARN = ROLE_ARN;
  process.env.AWS_REGION = REGION;
  return tokenFile;
}

/** STS answers once; the SDK's own retries are off so each case takes one request. */
const oneAttempt = { clientConfig: { region: REGION, maxAttempts: 1 } };

describe("no credentials", () => {
  test("the default chain finds none: retryable CredentialsNotFound saying what to set up and what was tried", async () => {
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("CredentialsNotFound");
    expect(error.retryable).toBe(true);
    expect(isPermanent(error)).toBe(false);
    expect(error.message).toContain("orders-cache");
    for (const advice of [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_PROFILE",
      "ECS task role",
      "EC2 instance profile",
      "AWS_WEB_IDENTITY_TOKEN_FILE",
      "pass `credentials` to awsIam()",
    ]) {
      expect(error.message).toContain(advice);
    }
    expect(error.message).toContain("Unable to find environment variable credentials");
    expect(error.message).toContain("EC2 Instance Metadata Service access disabled");
    expect((error.cause as Error).name).toBe("CredentialsProviderError");
    expect((error.cause as { tryNextLink?: boolean }).tryNextLink).toBe(false);
    expectNoSecrets(error);
  });

  test("the instance metadata service failing is retried too (it answers again after a moment)", async () => {
    delete process.env.AWS_EC2_METADATA_DISABLED;
    nock(IMDS).put("/latest/api/token").reply(500).get(/.*/).times(3).reply(500);
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("CredentialsNotFound");
    expect(isPermanent(error)).toBe(false);
  });

  test("no `default` profile without AWS_PROFILE is no error of its own", async () => {
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.message).toContain("Could not resolve credentials using profile: [default]");
    expect(error.code).toBe("CredentialsNotFound");
    expect(isPermanent(error)).toBe(false);
  });
});

describe("profiles", () => {
  test("AWS_PROFILE naming a profile that does not exist: permanent ProfileNotFound, though the chain hides it", async () => {
    process.env.AWS_PROFILE = "orders-prod";
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("ProfileNotFound");
    expect(error.retryable).toBe(false);
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain("`orders-prod` (AWS_PROFILE)");
    expect(error.message).toContain("~/.aws/config");
    // What the SDK itself says is the generic end of the chain:
    expect((error.cause as Error).message).toBe("Could not load credentials from any providers");
  });

  test("AWS_PROFILE naming a profile without credentials: ProfileNotFound too", async () => {
    mkdirSync(join(env.home(), ".aws"));
    writeFileSync(
      join(env.home(), ".aws", "config"),
      "[profile orders-prod]\nregion = eu-west-1\n",
    );
    process.env.AWS_PROFILE = "orders-prod";
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("ProfileNotFound");
    expect(isPermanent(error)).toBe(true);
  });

  test("AWS_PROFILE naming a profile in the shared credentials file: its keys sign, the env keys are ignored (with the SDK's warning)", async () => {
    mkdirSync(join(env.home(), ".aws"));
    writeFileSync(
      join(env.home(), ".aws", "credentials"),
      `[orders-prod]\naws_access_key_id = AKIAPROFILEEXAMPLE\naws_secret_access_key = profile-secret-key\n`,
    );
    process.env.AWS_PROFILE = "orders-prod";
    process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY;
    const warn = jest.spyOn(console, "warn").mockImplementation(() => {});
    const result = await fetchOnce(awsIam(options));
    expect(signatureVerifies(result.password, "profile-secret-key")).toBe(true);
    // The SDK warns (once per process) through the logger awsIam gives it, as it would without.
    if (warn.mock.calls.length > 0) {
      expect(String(warn.mock.calls[0]?.[0])).toContain("Multiple credential sources detected");
    }
  });

  test("fromIni({ profile }) passed as `credentials`: an unknown profile is permanent", async () => {
    const error = await failure(
      fetchOnce(awsIam({ ...options, credentials: fromIni({ profile: "missing" }) })),
    );
    expect(error.code).toBe("ProfileNotFound");
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain("`missing`");
  });
});

describe("web identity (EKS IRSA): STS AssumeRoleWithWebIdentity", () => {
  test("AccessDenied (the role's trust policy does not trust this service account): permanent, through the default chain", async () => {
    webIdentityEnvironment();
    nock(STS)
      .post("/")
      .reply(
        403,
        stsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        xml,
      );
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("AccessDenied");
    expect(error.status).toBe(403);
    expect(error.retryable).toBe(false);
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain("trust policy");
    expect(error.message).toContain("Not authorized to perform sts:AssumeRoleWithWebIdentity");
    expect(
      (error.cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
    ).toBe(403);
    expectNoSecrets(error);
  });

  test("AccessDenied whose message does not name the operation: the chain's log says it was web identity", async () => {
    webIdentityEnvironment();
    nock(STS).post("/").reply(403, stsError("AccessDenied", "Access denied"), xml);
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("AccessDenied");
    expect(isPermanent(error)).toBe(true);
  });

  test("AccessDenied from fromTokenFile() passed as `credentials`: permanent (STS names the operation)", async () => {
    const tokenFile = webIdentityEnvironment();
    nock(STS)
      .post("/")
      .reply(
        403,
        stsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        xml,
      );
    const credentials = fromTokenFile({
      webIdentityTokenFile: tokenFile,
      roleArn: ROLE_ARN,
      ...oneAttempt,
    });
    const error = await failure(fetchOnce(awsIam({ ...options, credentials })));
    expect(error.code).toBe("AccessDenied");
    expect(isPermanent(error)).toBe(true);
  });

  test("InvalidIdentityToken (no OIDC provider for the cluster, wrong audience): permanent", async () => {
    webIdentityEnvironment();
    nock(STS)
      .post("/")
      .reply(
        400,
        stsError(
          "InvalidIdentityToken",
          "No OpenIDConnect provider found in your account for https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
        ),
        xml,
      );
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("InvalidIdentityToken");
    expect(error.status).toBe(400);
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain("OIDC");
    expect((error.cause as Error).name).toBe("InvalidIdentityTokenException");
    expectNoSecrets(error);
  });

  test.each([
    {
      title: "Throttling (HTTP 400)",
      status: 400,
      body: stsError("Throttling", "Rate exceeded"),
      code: "Throttling",
    },
    {
      title: "a bare 429 from a proxy",
      status: 429,
      body: "Too Many Requests",
      code: "Throttling",
    },
    {
      title: "InternalFailure (HTTP 500)",
      status: 500,
      body: stsError("InternalFailure", "An internal error occurred", "Receiver"),
      code: "InternalFailure",
    },
    {
      title: "ServiceUnavailable (HTTP 503)",
      status: 503,
      body: stsError("ServiceUnavailable", "Service unavailable", "Receiver"),
      code: "ServiceUnavailable",
    },
    {
      title: "IDPCommunicationError (the OIDC issuer did not answer STS)",
      status: 400,
      body: stsError(
        "IDPCommunicationError",
        "Couldn't retrieve verification key from your identity provider",
      ),
      code: "IDPCommunicationError",
    },
    {
      title: "ExpiredTokenException (the projected token expired; the kubelet renews it)",
      status: 400,
      body: stsError(
        "ExpiredTokenException",
        "Token expired: current date/time 1700000000 must be before the expiration date/time 1690000000",
      ),
      code: "ExpiredTokenException",
    },
  ])("$title: retryable $code", async ({ status, body, code }) => {
    const tokenFile = webIdentityEnvironment();
    nock(STS).post("/").reply(status, body, xml);
    const credentials = fromTokenFile({
      webIdentityTokenFile: tokenFile,
      roleArn: ROLE_ARN,
      ...oneAttempt,
    });
    const error = await failure(fetchOnce(awsIam({ ...options, credentials })));
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(true);
    expect(isPermanent(error)).toBe(false);
    expectNoSecrets(error);
  });

  test("STS unreachable: retryable NetworkError", async () => {
    const tokenFile = webIdentityEnvironment();
    nock(STS)
      .post("/")
      .replyWithError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    const credentials = fromTokenFile({
      webIdentityTokenFile: tokenFile,
      roleArn: ROLE_ARN,
      ...oneAttempt,
    });
    const error = await failure(fetchOnce(awsIam({ ...options, credentials })));
    expect(error.code).toBe("NetworkError");
    expect(isPermanent(error)).toBe(false);
  });

  test("the token file missing: retryable TokenFileUnreadable", async () => {
    webIdentityEnvironment();
    process.env.AWS_WEB_IDENTITY_TOKEN_FILE = join(env.home(), "not-mounted-yet");
    const error = await failure(fetchOnce(awsIam(options)));
    expect(error.code).toBe("TokenFileUnreadable");
    expect(error.message).toContain("AWS_WEB_IDENTITY_TOKEN_FILE");
    expect(isPermanent(error)).toBe(false);
  });
});

describe("other providers", () => {
  test("AccessDenied on AssumeRole (not web identity): retryable, since a new role or policy may still be propagating", async () => {
    nock(STS)
      .post("/")
      .reply(
        403,
        stsError(
          "AccessDenied",
          "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/orders-cache",
        ),
        xml,
      );
    const credentials = fromTemporaryCredentials({
      params: { RoleArn: ROLE_ARN },
      masterCredentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      ...oneAttempt,
    });
    const error = await failure(fetchOnce(awsIam({ ...options, credentials })));
    expect(error.code).toBe("AccessDenied");
    expect(error.status).toBe(403);
    expect(error.retryable).toBe(true);
    expect(isPermanent(error)).toBe(false);
    expect(error.message).toContain("sts:AssumeRole");
    expectNoSecrets(error);
  });

  test("the ECS agent answering 500: retryable", async () => {
    process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/task";
    nock(ECS).get("/v2/credentials/task").reply(500, "agent restarting");
    const credentials = fromContainerMetadata({ maxRetries: 0, timeout: 1000 });
    const error = await failure(fetchOnce(awsIam({ ...options, credentials })));
    expect(error.retryable).toBe(true);
    expect(isPermanent(error)).toBe(false);
  });

  test("a provider resolving to something that is not an identity: retryable InvalidCredentials, never echoing it", async () => {
    for (const answer of [
      null,
      "AKIA...",
      { accessKeyId: ACCESS_KEY_ID },
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: "", sessionToken: SESSION_TOKEN },
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, expiration: "tomorrow" },
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, sessionToken: 42 },
    ]) {
      const error = await failure(
        fetchOnce(awsIam({ ...options, credentials: async () => answer as never })),
      );
      expect(error.code).toBe("InvalidCredentials");
      expect(error.retryable).toBe(true);
      expectNoSecrets(error);
    }
  });

  test("a provider throwing a non-Error: retryable ProviderError", async () => {
    const error = await failure(
      fetchOnce(
        awsIam({
          ...options,
          credentials: () => Promise.reject({ reason: "nope" }),
        }),
      ),
    );
    expect(error.code).toBe("ProviderError");
    expect(error.retryable).toBe(true);
    expect(error.cause).toEqual({ reason: "nope" });
  });
});

describe("expired credentials", () => {
  test("a provider handing out expired credentials is asked again with forceRefresh, and the fresh ones sign", async () => {
    const calls: unknown[] = [];
    const credentials = async (properties?: Record<string, unknown>) => {
      calls.push(properties);
      return properties?.forceRefresh
        ? {
            accessKeyId: "ASIAFRESH",
            secretAccessKey: "fresh-secret",
            expiration: new Date(Date.now() + 3_600_000),
          }
        : {
            accessKeyId: "ASIASTALE",
            secretAccessKey: "stale-secret",
            expiration: new Date(Date.now() - 1_000),
          };
    };
    const result = await fetchOnce(awsIam({ ...options, credentials }));
    expect(calls).toEqual([undefined, { forceRefresh: true }]);
    expect(signatureVerifies(result.password, "fresh-secret")).toBe(true);
  });

  test("credentials expiring within a minute: asked again; if the provider has nothing newer, the held ones sign, the token capped at their expiry", async () => {
    const expiration = new Date(Date.now() + 30_000);
    const credentials = jest.fn(async () => ({
      accessKeyId: "ASIASOON",
      secretAccessKey: "soon-secret",
      expiration,
    }));
    const result = await fetchOnce(awsIam({ ...options, credentials }));
    expect(credentials).toHaveBeenCalledTimes(2);
    expect(result.expiresAt).toBe(expiration.getTime());
    expect(signatureVerifies(result.password, "soon-secret")).toBe(true);
  });

  test("credentials expiring within a minute and the second ask failing: the held ones still sign", async () => {
    const expiration = new Date(Date.now() + 30_000);
    const credentials = async (properties?: Record<string, unknown>) => {
      if (properties?.forceRefresh) throw new Error("STS is down");
      return { accessKeyId: "ASIASOON", secretAccessKey: "soon-secret", expiration };
    };
    const result = await fetchOnce(awsIam({ ...options, credentials }));
    expect(result.expiresAt).toBe(expiration.getTime());
    expect(signatureVerifies(result.password, "soon-secret")).toBe(true);
  });

  test("a provider with only expired credentials: retryable CredentialsExpired", async () => {
    const expiration = new Date(Date.now() - 60_000);
    const error = await failure(
      fetchOnce(
        awsIam({
          ...options,
          credentials: async () => ({
            accessKeyId: "ASIAOLD",
            secretAccessKey: "old-secret",
            expiration,
          }),
        }),
      ),
    );
    expect(error.code).toBe("CredentialsExpired");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(expiration.toISOString());
    expectNoSecrets(error, ["old-secret"]);
  });

  test("static temporary credentials that have expired since: permanent CredentialsExpired (nothing can renew them)", async () => {
    const expiration = new Date(Date.now() + 60_000);
    const source = awsIam({
      ...options,
      credentials: {
        accessKeyId: ACCESS_KEY_ID,
        secretAccessKey: SECRET_ACCESS_KEY,
        sessionToken: SESSION_TOKEN,
        expiration,
      },
    });
    jest.spyOn(Date, "now").mockReturnValue(expiration.getTime() + 1);
    const error = await failure(fetchOnce(source));
    expect(error.code).toBe("CredentialsExpired");
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain("pass a credential provider");
    expectNoSecrets(error);
  });
});

describe("abort", () => {
  test("the manager's abort rejects at once with its reason, though the provider never answers", async () => {
    let asked = 0;
    const source = awsIam({
      ...options,
      credentials: () => {
        asked++;
        return new Promise<never>(() => {});
      },
    });
    const controller = new AbortController();
    const pending = fetchOnce(source, { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toBe(1);
    const reason = new Error("fetch timed out");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  test("an abort without an Error reason rejects with an AbortError", async () => {
    const source = awsIam({ ...options, credentials: () => new Promise<never>(() => {}) });
    const controller = new AbortController();
    const pending = fetchOnce(source, { signal: controller.signal });
    controller.abort("bye");
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  test("an already-aborted signal: rejected without asking the provider", async () => {
    const credentials = jest.fn(async () => ({ accessKeyId: "a", secretAccessKey: "b" }));
    const controller = new AbortController();
    controller.abort(new Error("disposed"));
    await expect(
      fetchOnce(awsIam({ ...options, credentials }), { signal: controller.signal }),
    ).rejects.toThrow("disposed");
    expect(credentials).not.toHaveBeenCalled();
  });

  test("the default chain, aborted while STS is slow: the abort wins", async () => {
    webIdentityEnvironment();
    // STS answers long after the abort; the SDK's request, which takes no signal, then ends.
    nock(STS)
      .post("/")
      .delay(300)
      .reply(503, stsError("ServiceUnavailable", "slow", "Receiver"), xml);
    const controller = new AbortController();
    const pending = fetchOnce(awsIam(options), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("fetchTimeoutMs")), 50);
    const started = Date.now();
    await expect(pending).rejects.toThrow("fetchTimeoutMs");
    expect(Date.now() - started).toBeLessThan(250);
    await new Promise((resolve) => setTimeout(resolve, 400));
  });
});

describe("classifyAwsIamError", () => {
  test("anything unknown is retryable; throttling names and 429 are Throttling", () => {
    expect(classifyAwsIamError(undefined)).toMatchObject({
      code: "ProviderError",
      retryable: true,
    });
    expect(classifyAwsIamError(new Error("weird"))).toMatchObject({
      code: "ProviderError",
      retryable: true,
    });
    expect(
      classifyAwsIamError(
        Object.assign(new Error("x"), { name: "TooManyRequestsException", $fault: "client" }),
      ),
    ).toMatchObject({ code: "TooManyRequestsException", retryable: true });
    expect(
      classifyAwsIamError(Object.assign(new Error("x"), { $metadata: { httpStatusCode: 429 } })),
    ).toMatchObject({
      code: "Throttling",
      retryable: true,
      status: 429,
    });
  });
});
