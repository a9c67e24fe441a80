import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { awsIam } from "@redis-credentials/aws-iam";
import nock from "nock";
import {
  ACCESS_KEY_ID,
  ECS,
  fetchOnce,
  IMDS,
  interceptAwsHttp,
  isolateAwsEnvironment,
  POD_IDENTITY,
  parseToken,
  REGION,
  roleCredentialsJson,
  SECRET_ACCESS_KEY,
  SESSION_TOKEN,
  STS,
  signatureVerifies,
  webIdentityResponse,
  xml,
} from "../aws-helpers";

// The default credential chain (fromNodeProviderChain) of the real SDK, each link reached the way
// it is in production: through environment variables and HTTP endpoints that nock answers.
const env = isolateAwsEnvironment();
interceptAwsHttp();

const options = { userId: "orders-app", cacheName: "orders-cache", region: REGION };

/** Role credentials as the metadata endpoints and STS hand them out: a new key each time. */
function roleCredentials(n: number, expiresInMs = 3_600_000) {
  return {
    accessKeyId: `ASIAROLE${n}EXAMPLE`,
    secretAccessKey: `role-secret-${n}-0123456789abcdefghijklmnopqrstuv`,
    sessionToken: `role-session-token-${n}`,
    // Whole seconds, as the endpoints write them.
    expiration: new Date(Math.floor((Date.now() + expiresInMs) / 1000) * 1000),
  };
}

function expectSignedBy(
  token: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
) {
  const parsed = parseToken(token);
  expect(parsed.get("X-Amz-Credential")?.split("/")[0]).toBe(credentials.accessKeyId);
  expect(parsed.get("X-Amz-Security-Token")).toBe(credentials.sessionToken);
  expect(signatureVerifies(token, credentials.secretAccessKey)).toBe(true);
}

test("environment variables: the default chain signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, no HTTP", async () => {
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY;
  process.env.AWS_SESSION_TOKEN = SESSION_TOKEN;
  const before = Date.now();
  const result = await fetchOnce(awsIam(options));
  expectSignedBy(result.password, {
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    sessionToken: SESSION_TOKEN,
  });
  expect(result.username).toBe("orders-app");
  expect(result.expiresAt).toBeGreaterThan(before + 899_000);
  expect(result.expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
});

test("environment variables with AWS_CREDENTIAL_EXPIRATION: the token's expiry is capped at the credentials'", async () => {
  const expiration = new Date(Math.floor(Date.now() / 1000) * 1000 + 240_000);
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY;
  process.env.AWS_SESSION_TOKEN = SESSION_TOKEN;
  process.env.AWS_CREDENTIAL_EXPIRATION = expiration.toISOString();
  const result = await fetchOnce(awsIam(options));
  expect(result.expiresAt).toBe(expiration.getTime());
  expectSignedBy(result.password, {
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    sessionToken: SESSION_TOKEN,
  });
});

test("ECS task role: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI → http://169.254.170.2", async () => {
  process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/task-1234";
  const role = roleCredentials(1);
  const agent = nock(ECS).get("/v2/credentials/task-1234").reply(200, roleCredentialsJson(role));
  const result = await fetchOnce(awsIam(options));
  expect(agent.isDone()).toBe(true);
  expectSignedBy(result.password, role);
});

test("EKS Pod Identity / ECS full URI: AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN", async () => {
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${POD_IDENTITY}/v1/credentials`;
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "pod-identity-auth-token";
  const role = roleCredentials(2);
  const agent = nock(POD_IDENTITY)
    .get("/v1/credentials")
    .matchHeader("authorization", "pod-identity-auth-token")
    .reply(200, roleCredentialsJson(role));
  const result = await fetchOnce(awsIam(options));
  expect(agent.isDone()).toBe(true);
  expectSignedBy(result.password, role);
});

test("EC2 instance profile through IMDSv2: a session token (PUT), the role's name, then its credentials", async () => {
  delete process.env.AWS_EC2_METADATA_DISABLED;
  const role = roleCredentials(3, 6 * 3_600_000);
  const imds = nock(IMDS)
    .put("/latest/api/token")
    .matchHeader("x-aws-ec2-metadata-token-ttl-seconds", /^\d+$/)
    .reply(200, "imds-session-token")
    .get("/latest/meta-data/iam/security-credentials/")
    .matchHeader("x-aws-ec2-metadata-token", "imds-session-token")
    .reply(200, "orders-instance-role")
    .get("/latest/meta-data/iam/security-credentials/orders-instance-role")
    .matchHeader("x-aws-ec2-metadata-token", "imds-session-token")
    .reply(200, roleCredentialsJson(role));
  const result = await fetchOnce(awsIam(options));
  expect(imds.isDone()).toBe(true);
  expectSignedBy(result.password, role);
  // Six hours of validity: the token's own 15 minutes are the limit.
  expect(result.expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
});

test("EKS IRSA web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN → STS AssumeRoleWithWebIdentity in the region", async () => {
  const tokenFile = join(env.home(), "eks-token");
  writeFileSync(tokenFile, "eyJhbGciOiJSUzI1NiJ9.service-account-token.sig");
  process.env.AWS_WEB_IDENTITY_TOKEN_FILE = tokenFile;
  process.env.AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/orders-cache";
  process.env.AWS_REGION = REGION;
  const role = roleCredentials(4);
  let form: URLSearchParams | undefined;
  const sts = nock(STS)
    .post("/")
    .reply(
      200,
      (_uri, body) => {
        form = new URLSearchParams(String(body));
        return webIdentityResponse(role);
      },
      xml,
    );
  const result = await fetchOnce(awsIam({ userId: "orders-app", cacheName: "orders-cache" }));
  expect(sts.isDone()).toBe(true);
  expect(form?.get("Action")).toBe("AssumeRoleWithWebIdentity");
  expect(form?.get("RoleArn")).toBe("arn:aws:iam::123456789012:role/orders-cache");
  expect(form?.get("WebIdentityToken")).toBe("eyJhbGciOiJSUzI1NiJ9.service-account-token.sig");
  expectSignedBy(result.password, role);
  expect(parseToken(result.password).get("X-Amz-Credential")).toContain(
    `/${REGION}/elasticache/aws4_request`,
  );
});

test("role credentials that expire within the token's 15 minutes cap its expiry", async () => {
  process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/short";
  const role = roleCredentials(5, 10 * 60_000);
  nock(ECS).get("/v2/credentials/short").reply(200, roleCredentialsJson(role));
  const result = await fetchOnce(awsIam(options));
  expect(result.expiresAt).toBe(role.expiration.getTime());
  expectSignedBy(result.password, role);
});

test("rotation: once the role credentials expire, the chain fetches new ones and the next token is signed with the new key", async () => {
  process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/rotating";
  const first = roleCredentials(6);
  nock(ECS).get("/v2/credentials/rotating").reply(200, roleCredentialsJson(first));
  const source = awsIam(options);
  const one = await fetchOnce(source);
  expectSignedBy(one.password, first);

  // Still valid: the SDK's cache answers, no request.
  const again = await fetchOnce(source);
  expectSignedBy(again.password, first);

  // An hour later the agent has rotated the task role's credentials.
  const later = first.expiration.getTime() + 1_000;
  const realNow = Date.now;
  jest.spyOn(Date, "now").mockImplementation(() => later);
  const second = {
    ...roleCredentials(7),
    expiration: new Date(Math.floor(later / 1000) * 1000 + 3_600_000),
  };
  const agent = nock(ECS).get("/v2/credentials/rotating").reply(200, roleCredentialsJson(second));
  const two = await fetchOnce(source);
  expect(agent.isDone()).toBe(true);
  expectSignedBy(two.password, second);
  expect(two.expiresAt).toBe(Math.floor(later / 1000) * 1000 + 900_000);
  expect(realNow()).toBeLessThan(later);
});

test("a forced refresh (Redis refused the token) makes the chain skip its cache", async () => {
  process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/forced";
  const first = roleCredentials(8);
  const second = roleCredentials(9);
  nock(ECS)
    .get("/v2/credentials/forced")
    .reply(200, roleCredentialsJson(first))
    .get("/v2/credentials/forced")
    .reply(200, roleCredentialsJson(second));
  const source = awsIam(options);
  expectSignedBy((await fetchOnce(source, { reason: "scheduled" })).password, first);
  expectSignedBy((await fetchOnce(source, { reason: "scheduled" })).password, first);
  expectSignedBy((await fetchOnce(source, { reason: "forced" })).password, second);
});
