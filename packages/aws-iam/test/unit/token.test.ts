import { inspect } from "node:util";
import { type AwsIamService, awsIam } from "@redis-credentials/aws-iam";
import {
  ACCESS_KEY_ID,
  computeSignature,
  EMPTY_PAYLOAD_SHA256,
  fetchOnce,
  isolateAwsEnvironment,
  parseToken,
  REGION,
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
  signatureVerifies,
} from "../aws-helpers";

isolateAwsEnvironment();
afterEach(() => jest.restoreAllMocks());

/** Signing time: a fixed instant with milliseconds, which X-Amz-Date drops. */
const SIGNED_AT = Date.UTC(2026, 10, 28, 12, 34, 56, 789);
const AMZ_DATE = "20261128T123456Z";

const cases: {
  title: string;
  service?: AwsIamService;
  serverless?: boolean;
  sessionToken?: string;
}[] = [
  { title: "ElastiCache, long-term keys" },
  { title: "ElastiCache, temporary credentials", sessionToken: SESSION_TOKEN },
  { title: "ElastiCache Serverless, long-term keys", serverless: true },
  {
    title: "ElastiCache Serverless, temporary credentials",
    serverless: true,
    sessionToken: SESSION_TOKEN,
  },
  { title: "MemoryDB, long-term keys", service: "memorydb" },
  { title: "MemoryDB, temporary credentials", service: "memorydb", sessionToken: SESSION_TOKEN },
];

test.each(cases)(
  "token shape and signature: $title",
  async ({ service, serverless, sessionToken }) => {
    jest.spyOn(Date, "now").mockReturnValue(SIGNED_AT);
    const credentials = {
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: SECRET_ACCESS_KEY,
      ...(sessionToken !== undefined ? { sessionToken } : {}),
    };
    const source = awsIam({
      userId: "orders-app",
      cacheName: "orders-cache",
      region: REGION,
      credentials,
      ...(service !== undefined ? { service } : {}),
      ...(serverless !== undefined ? { serverless } : {}),
    });
    const result = await fetchOnce(source);
    const token = result.password;

    expect(result.username).toBe("orders-app");
    expect(result.expiresAt).toBe(Date.UTC(2026, 10, 28, 12, 34, 56) + 900_000);
    expect(token.startsWith("orders-cache/?")).toBe(true);
    expect(token).not.toMatch(/^https?:/);

    const parsed = parseToken(token);
    expect(parsed.host).toBe("orders-cache");
    expect(parsed.path).toBe("/");
    expect(parsed.get("Action")).toBe("connect");
    expect(parsed.get("User")).toBe("orders-app");
    expect(parsed.get("ResourceType")).toBe(serverless ? "ServerlessCache" : undefined);
    expect(parsed.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(parsed.get("X-Amz-Credential")).toBe(
      `${ACCESS_KEY_ID}/20261128/${REGION}/${service ?? "elasticache"}/aws4_request`,
    );
    expect(parsed.get("X-Amz-Date")).toBe(AMZ_DATE);
    expect(parsed.get("X-Amz-Expires")).toBe("900");
    expect(parsed.get("X-Amz-SignedHeaders")).toBe("host");
    expect(parsed.get("X-Amz-Security-Token")).toBe(sessionToken);
    expect(parsed.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    // As the SDK writes presigned URLs: keys sorted, each once.
    const keys = parsed.params.map(([key]) => key);
    expect(keys).toEqual([...keys].sort());
    expect(new Set(keys).size).toBe(keys.length);

    // The signature, recomputed from scratch, matches; any other secret or a changed field does not.
    expect(signatureVerifies(token, SECRET_ACCESS_KEY)).toBe(true);
    expect(signatureVerifies(token, `${SECRET_ACCESS_KEY}x`)).toBe(false);
    expect(
      signatureVerifies(token.replace("User=orders-app", "User=admin"), SECRET_ACCESS_KEY),
    ).toBe(false);
    // Neither the secret key nor the token shows when the credentials are logged.
    expect(inspect(result)).not.toContain(token);
    expect(JSON.stringify(result)).not.toContain(token);
    expect(token).not.toContain(SECRET_ACCESS_KEY);
    expect(token).not.toContain(encodeURIComponent(SECRET_ACCESS_KEY));
  },
);

test("the payload hash of the signed GET is SHA-256 of the empty body, not UNSIGNED-PAYLOAD (as @smithy/signature-v4 presigns a request without a body)", async () => {
  const token = (
    await fetchOnce(
      awsIam({
        userId: "u",
        cacheName: "c",
        region: REGION,
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      }),
    )
  ).password;
  const signature = parseToken(token).get("X-Amz-Signature");
  expect(computeSignature(token, SECRET_ACCESS_KEY, EMPTY_PAYLOAD_SHA256)).toBe(signature);
  expect(computeSignature(token, SECRET_ACCESS_KEY, "UNSIGNED-PAYLOAD")).not.toBe(signature);
});

test("characters outside RFC 3986's unreserved set are percent-encoded, and the signature still verifies", async () => {
  const userId = "app+user/1!*'()";
  const credentials = {
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    sessionToken: SESSION_TOKEN, // has + / and =
  };
  const token = (await fetchOnce(awsIam({ userId, cacheName: "c", region: REGION, credentials })))
    .password;
  expect(token).toContain("User=app%2Buser%2F1%21%2A%27%28%29");
  expect(token).toContain(`X-Amz-Security-Token=${encodeURIComponent(SESSION_TOKEN)}`);
  expect(token).toMatch(/^[A-Za-z0-9\-._~%/?&=]+$/);
  expect(parseToken(token).get("User")).toBe(userId);
  expect(signatureVerifies(token, SECRET_ACCESS_KEY)).toBe(true);
});

test("expiresInSeconds sets X-Amz-Expires and the expiry", async () => {
  jest.spyOn(Date, "now").mockReturnValue(SIGNED_AT);
  const result = await fetchOnce(
    awsIam({
      userId: "u",
      cacheName: "c",
      region: REGION,
      expiresInSeconds: 60,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    }),
  );
  expect(parseToken(result.password).get("X-Amz-Expires")).toBe("60");
  expect(result.expiresAt).toBe(Date.UTC(2026, 10, 28, 12, 34, 56) + 60_000);
  expect(signatureVerifies(result.password, SECRET_ACCESS_KEY)).toBe(true);
});

test("the region comes from AWS_REGION, then AWS_DEFAULT_REGION, unless given", async () => {
  const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
  const scope = async (options: { region?: string }) =>
    parseToken(
      (await fetchOnce(awsIam({ userId: "u", cacheName: "c", credentials, ...options }))).password,
    )
      .get("X-Amz-Credential")
      ?.split("/")[2];
  process.env.AWS_DEFAULT_REGION = "us-west-2";
  expect(await scope({})).toBe("us-west-2");
  process.env.AWS_REGION = "ap-southeast-2";
  expect(await scope({})).toBe("ap-southeast-2");
  expect(await scope({ region: "eu-central-1" })).toBe("eu-central-1");
});

test("each fetch signs anew at the time of the fetch: a later fetch gives a later token", async () => {
  const now = jest.spyOn(Date, "now").mockReturnValue(SIGNED_AT);
  const source = awsIam({
    userId: "u",
    cacheName: "c",
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  });
  const first = await fetchOnce(source);
  now.mockReturnValue(SIGNED_AT + 300_000);
  const second = await fetchOnce(source);
  expect(second.password).not.toBe(first.password);
  expect(parseToken(second.password).get("X-Amz-Date")).toBe("20261128T123956Z");
  expect(second.expiresAt - first.expiresAt).toBe(300_000);
});
