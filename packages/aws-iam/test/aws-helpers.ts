import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CredentialSource, RedisCredentials } from "@redis-credentials/core";
import nock from "nock";

export const REGION = "eu-west-1";
export const STS = `https://sts.${REGION}.amazonaws.com`;
export const IMDS = "http://169.254.169.254";
export const ECS = "http://169.254.170.2";
/** A host the SDK accepts in AWS_CONTAINER_CREDENTIALS_FULL_URI over http (EKS Pod Identity's). */
export const POD_IDENTITY = "http://169.254.170.23";

/** AWS's documentation example keys: recognisable, and never real. */
export const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
export const SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
export const SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE+session/token==";

/** SigV4's payload hash of a GET without a body: SHA-256 of the empty string. */
export const EMPTY_PAYLOAD_SHA256 =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** One fetch of a source, as the token manager makes it (an abort signal of its own unless given). */
export function fetchOnce(
  source: CredentialSource,
  options: { signal?: AbortSignal; reason?: "initial" | "scheduled" | "forced" | "retry" } = {},
): Promise<RedisCredentials> {
  return source.fetch({
    signal: options.signal ?? new AbortController().signal,
    reason: options.reason ?? "initial",
  });
}

/**
 * Each test starts with no AWS configuration at all: no AWS_* variable, a HOME without ~/.aws,
 * config files that do not exist (new paths per test: the SDK caches what it read per path), and
 * no instance metadata unless a test turns it back on. Restores the environment afterwards.
 */
/**
 * For a file whose tests reach AWS endpoints: nock answers them and no request leaves the
 * machine; each test's interceptors, requests still pending and spies are cleared after it.
 */
export function interceptAwsHttp(): void {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => {
    nock.abortPendingRequests();
    nock.cleanAll();
    jest.restoreAllMocks();
  });
}

export function isolateAwsEnvironment(): { readonly home: () => string } {
  let saved: NodeJS.ProcessEnv = {};
  let home = "";
  beforeEach(() => {
    saved = { ...process.env };
    for (const key of Object.keys(process.env)) {
      if (key.startsWith("AWS_")) delete process.env[key];
    }
    home = mkdtempSync(join(tmpdir(), "aws-iam-home-"));
    process.env.HOME = home;
    process.env.AWS_CONFIG_FILE = join(home, ".aws", "config");
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(home, ".aws", "credentials");
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    // The SDK warns once per process that releases after January 2027 need Node 22.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  });
  afterEach(() => {
    for (const key of Object.keys(process.env)) {
      if (!(key in saved)) delete process.env[key];
    }
    Object.assign(process.env, saved);
    rmSync(home, { recursive: true, force: true });
  });
  return { home: () => home };
}

export interface ParsedToken {
  host: string;
  path: string;
  /** The query's parameters, decoded, in the token's order. */
  params: [string, string][];
  /** A parameter's decoded value. */
  get(name: string): string | undefined;
}

/** Reads a token (`<host>/?<query>`) without the library's help. */
export function parseToken(token: string): ParsedToken {
  const slash = token.indexOf("/");
  const question = token.indexOf("?");
  if (slash < 0 || question < slash) throw new Error("not a token: no /? in it");
  const params = token
    .slice(question + 1)
    .split("&")
    .map((pair): [string, string] => {
      const equals = pair.indexOf("=");
      const key = equals < 0 ? pair : pair.slice(0, equals);
      const value = equals < 0 ? "" : pair.slice(equals + 1);
      return [decodeURIComponent(key), decodeURIComponent(value)];
    });
  return {
    host: token.slice(0, slash),
    path: token.slice(slash, question),
    params,
    get: (name) => params.find(([key]) => key === name)?.[1],
  };
}

/** RFC 3986 percent-encoding, as SigV4 wants it. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const hmac = (key: string | Buffer, data: string) =>
  createHmac("sha256", key).update(data).digest();

/**
 * The SigV4 query-string signature of a token, computed from scratch with node:crypto: the
 * canonical request (method, path, the query sorted without X-Amz-Signature, the host header,
 * the signed headers, the payload hash), the string to sign, and the signing key derived from the
 * secret through date, region, service and `aws4_request`.
 */
export function computeSignature(
  token: string,
  secretAccessKey: string,
  payloadHash: string = EMPTY_PAYLOAD_SHA256,
): string {
  const { host, path, params, get } = parseToken(token);
  const credential = get("X-Amz-Credential") ?? "";
  const [, date = "", region = "", service = "", terminator = ""] = credential.split("/");
  const amzDate = get("X-Amz-Date") ?? "";
  const canonicalQuery = params
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [encode(key), encode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const signedHeaders = get("X-Amz-SignedHeaders") ?? "";
  const canonicalRequest = [
    "GET",
    path,
    canonicalQuery,
    `host:${host}`,
    "",
    signedHeaders,
    payloadHash,
  ].join("\n");
  const scope = `${date}/${region}/${service}/${terminator}`;
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    amzDate,
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  let key = hmac(`AWS4${secretAccessKey}`, date);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  return createHmac("sha256", key).update(stringToSign).digest("hex");
}

/** Whether the token's X-Amz-Signature is the one `secretAccessKey` gives. */
export function signatureVerifies(token: string, secretAccessKey: string): boolean {
  return parseToken(token).get("X-Amz-Signature") === computeSignature(token, secretAccessKey);
}

/** What STS answers to AssumeRoleWithWebIdentity. */
export function webIdentityResponse(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}): string {
  return `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:shop:orders</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/orders-cache/session</Arn>
      <AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${credentials.secretAccessKey}</SecretAccessKey>
      <SessionToken>${credentials.sessionToken}</SessionToken>
      <Expiration>${credentials.expiration.toISOString()}</Expiration>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;
}

/** An STS error answer. */
export function stsError(code: string, message: string, type = "Sender"): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>
  <RequestId>00000000-0000-0000-0000-000000000002</RequestId>
</ErrorResponse>`;
}

export const xml = { "content-type": "text/xml" };

/** The role credentials the instance metadata service and the ECS agent answer with. */
export function roleCredentialsJson(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}) {
  return {
    Code: "Success",
    LastUpdated: new Date().toISOString(),
    Type: "AWS-HMAC",
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    Token: credentials.sessionToken,
    Expiration: credentials.expiration.toISOString(),
    RoleArn: "arn:aws:iam::123456789012:role/orders-cache",
  };
}
