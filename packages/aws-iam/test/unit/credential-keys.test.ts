import { type AwsIamOptions, awsIam } from "@redis-credentials/aws-iam";
import { InvalidOptionsError } from "@redis-credentials/core";
import {
  ACCESS_KEY_ID,
  fetchOnce,
  isolateAwsEnvironment,
  REGION,
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
} from "../aws-helpers";

isolateAwsEnvironment();

// A misspelt key in static credentials was dropped without a word: the token would be signed
// without the session token and every AUTH refused. Now it is refused, by name, never by value.

const base = { userId: "orders-app", cacheName: "orders-cache", region: REGION };
const keys = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

function thrown(credentials: unknown): InvalidOptionsError {
  try {
    awsIam({ ...base, credentials } as AwsIamOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error("awsIam() accepted the credentials");
}

test.each([
  ["session_token", { ...keys, session_token: SESSION_TOKEN }, "sessionToken"],
  ["aws_session_token", { ...keys, aws_session_token: SESSION_TOKEN }, "sessionToken"],
  ["sessiontoken", { ...keys, sessiontoken: SESSION_TOKEN }, "sessionToken"],
  [
    "access_key_id (with no accessKeyId)",
    { access_key_id: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    "accessKeyId",
  ],
])("an unknown key %s is refused, saying what was meant", (key, credentials, meant) => {
  const error = thrown(credentials);
  expect(error.option).toBe(`credentials.${key.split(" ")[0]}`);
  expect(error.message).toMatch(new RegExp(`did you mean \`(credentials\\.)?${meant}\`\\?`));
  for (const secret of [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN]) {
    expect(error.message).not.toContain(secret);
  }
});

test("the identity's own keys, and the SDK's $-prefixed bookkeeping, are accepted", () => {
  expect(() =>
    awsIam({
      ...base,
      credentials: {
        ...keys,
        sessionToken: SESSION_TOKEN,
        expiration: new Date(Date.now() + 3_600_000),
        credentialScope: "us-east-1",
        accountId: "123456789012",
        $source: {},
      } as never,
    }),
  ).not.toThrow();
});

test("a credential provider rejecting with a non-Error: the message shows its fields, not [object Object], and no secret", async () => {
  const error = await fetchOnce(
    awsIam({
      ...base,
      credentials: () =>
        Promise.reject({
          code: "CredentialsProviderError",
          status: 403,
          secretAccessKey: SECRET_ACCESS_KEY,
        }),
    }),
  ).then(
    () => undefined,
    (caught: unknown) => caught as Error,
  );
  expect(error?.message).toContain(
    "Cause: a non-Error value: { code: 'CredentialsProviderError', status: 403 }.",
  );
  expect(error?.message).not.toContain("[object Object]");
  expect(error?.message).not.toContain(SECRET_ACCESS_KEY);
});
