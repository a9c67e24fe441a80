import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { InvalidOptionsError } from "@redis-credentials/core";
import { recordSecret } from "./secret-recorder";

/*
 * Amazon ElastiCache and MemoryDB IAM authentication, checked as AWS checks it. A client AUTHs
 * with the IAM-enabled user's id as the user name and, as the password, a SigV4 presigned URL
 * for `GET http://<cacheName>/?Action=connect&User=<userId>` (plus `&ResourceType=ServerlessCache`
 * for ElastiCache Serverless), signed for the service `elasticache` (or `memorydb`) and the
 * cache's region, without its leading `http://`:
 *
 *   <cacheName>/?Action=connect&User=<userId>&X-Amz-Algorithm=AWS4-HMAC-SHA256
 *     &X-Amz-Credential=<AKID>%2F<yyyymmdd>%2F<region>%2Felasticache%2Faws4_request
 *     &X-Amz-Date=<yyyymmddThhmmssZ>&X-Amz-Expires=900&X-Amz-SignedHeaders=host
 *     [&X-Amz-Security-Token=...]&X-Amz-Signature=<hex>
 *
 * The signature is recomputed here by hand, with node:crypto only, so that the verifier does not
 * share a line with the signers it tests (@smithy/signature-v4, botocore, the Go and Java SDKs).
 * The parameters may come in any order. The canonical request is what those signers build for a
 * presigned GET without a body:
 *
 *   GET\n/\n<every parameter but X-Amz-Signature, URI-encoded, sorted>\nhost:<host>\n\nhost\n<sha256("")>
 *
 * (the payload hash is that of the empty body: presigning without a body hashes it, as
 * `@smithy/signature-v4` does; `UNSIGNED-PAYLOAD` is S3's, and a token signed with it is refused
 * as `signature`). A token is checked only when presented: a connection then lives
 * `connectionLifetimeMs` (AWS: 12 hours) after its last successful AUTH, whatever the token's
 * own expiry.
 */

/** Why an AWS IAM token was refused; the token-enforcing Redis counts rejected AUTHs by this. */
export type AwsTokenRejection =
  /** Not a presigned URL for `<host>/` with the SigV4 query parameters, or one that is garbled. */
  | "malformed"
  /** The signature does not match: a wrong secret key, or a token changed after signing. */
  | "signature"
  /** An access key id not configured, or a session token that is not the one of that key. */
  | "credential"
  /** Signed for another host than `cacheName`. */
  | "host"
  /** `Action` is not `connect`. */
  | "action"
  /** `User` is not the AUTH user name (or not the configured user id). */
  | "user"
  /** `ResourceType` present for a non-serverless cache, or not `ServerlessCache` for a serverless one. */
  | "resource-type"
  /** Signed for another service than the configured one (`elasticache` or `memorydb`). */
  | "service"
  /** Signed for another region. */
  | "region"
  /** `X-Amz-Date` + `X-Amz-Expires` has passed. */
  | "expired"
  /** `X-Amz-Date` is in the future by more than the allowed clock skew. */
  | "not-yet-valid"
  /** `X-Amz-Expires` is above 900 seconds. */
  | "expires-too-long";

/** One set of AWS credentials that may sign tokens (the access key pair, with the session token of temporary credentials). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The session token of temporary credentials (STS, a role): the token must carry exactly this one. */
  readonly sessionToken?: string | undefined;
}

/** The AWS service a cache belongs to: its tokens are signed for it. */
export type AwsService = "elasticache" | "memorydb";

export interface AwsVerifierOptions {
  /**
   * The credentials whose signatures are accepted: one set, or several (role credentials rotate,
   * and tokens signed with the previous ones stay valid until they expire).
   */
  credentials: AwsCredentials | readonly AwsCredentials[];
  /** The cache's region, e.g. `us-east-1`. */
  region: string;
  /** The replication group id, serverless cache name or MemoryDB cluster name: the host the tokens are signed for. */
  cacheName: string;
  /** The IAM-enabled user's id: the AUTH user name and the token's `User`. */
  userId: string;
  /** An ElastiCache Serverless cache: tokens carry `ResourceType=ServerlessCache`. @default false */
  serverless?: boolean | undefined;
  /** @default "elasticache" */
  service?: AwsService | undefined;
  /** How long a connection lives after its last successful AUTH. @default 43_200_000 (12 hours, as on AWS) */
  connectionLifetimeMs?: number | undefined;
  /** How far in the future `X-Amz-Date` may be (the client's clock running ahead). @default 300_000 (5 minutes) */
  clockSkewMs?: number | undefined;
}

/** What a valid AWS IAM token says. */
export interface AwsTokenClaims {
  /** The authenticated user: the token's `User` (the name the proxy reads as the connection's user). */
  readonly oid: string;
  /** The token's `User`: the IAM-enabled user's id. */
  readonly userId: string;
  /** The access key id that signed it. */
  readonly accessKeyId: string;
  /** Whether it carries a session token (temporary credentials). */
  readonly sessionToken: boolean;
  /** The host it was signed for: the cache name. */
  readonly cacheName: string;
  readonly region: string;
  readonly service: AwsService;
  /** Whether it carries `ResourceType=ServerlessCache`. */
  readonly serverless: boolean;
  /** `X-Amz-Date`, epoch ms. */
  readonly signedAt: number;
  /** `X-Amz-Expires`, seconds. */
  readonly expiresInSeconds: number;
  /** When the token stops being accepted (epoch seconds): `X-Amz-Date` + `X-Amz-Expires`. */
  readonly exp: number;
  /** How long a connection it authenticates lives after that AUTH: the connection's deadline. */
  readonly connectionLifetimeMs: number;
}

export type AwsTokenVerification =
  | { readonly ok: true; readonly claims: AwsTokenClaims }
  | { readonly ok: false; readonly reason: AwsTokenRejection };

/** Verifies ElastiCache / MemoryDB IAM authentication tokens; pass it to `startTokenRedis({ identity })`, or use `startTokenRedis({ aws })`. */
export interface AwsVerifier {
  readonly region: string;
  readonly cacheName: string;
  readonly userId: string;
  readonly service: AwsService;
  readonly serverless: boolean;
  readonly connectionLifetimeMs: number;
  readonly clockSkewMs: number;
  /** The access key ids whose signatures are accepted (the secrets are never exposed). */
  readonly accessKeyIds: readonly string[];
  /**
   * Checks a token as ElastiCache checks the password of an AUTH: `user` is the AUTH user name
   * (checked against the token's `User` when given), `now` the time to check at (epoch ms).
   */
  verifyToken(token: string, options?: { user?: string; now?: number }): AwsTokenVerification;
}

export const AWS_MAX_EXPIRES_SECONDS = 900;
export const AWS_CONNECTION_LIFETIME_MS = 12 * 60 * 60 * 1000;
export const AWS_DEFAULT_CLOCK_SKEW_MS = 5 * 60 * 1000;

const ALGORITHM = "AWS4-HMAC-SHA256";
/** The payload hash of a presigned GET without a body: SHA-256 of the empty string. */
const EMPTY_PAYLOAD_SHA256 = createHash("sha256").update("").digest("hex");
const SIGNATURE = "X-Amz-Signature";
const REQUIRED = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  SIGNATURE,
] as const;

/** A verifier of ElastiCache / MemoryDB IAM authentication tokens, independent of any AWS signer. */
export function createAwsVerifier(options: AwsVerifierOptions): AwsVerifier {
  return buildAwsVerifier(options, "");
}

/** @internal `createAwsVerifier`, naming wrong options under `prefix` (`"aws."` for `startTokenRedis`). */
export function buildAwsVerifier(options: AwsVerifierOptions, prefix: string): AwsVerifier {
  const config = validate(options, prefix);
  const keys = new Map(
    config.credentials.map((credentials) => [credentials.accessKeyId, credentials]),
  );

  const verifyToken = (
    token: string,
    check: { user?: string; now?: number } = {},
  ): AwsTokenVerification => {
    const now = check.now ?? Date.now();
    const reject = (reason: AwsTokenRejection): AwsTokenVerification => ({ ok: false, reason });
    const parsed = parseToken(token);
    if (parsed === undefined) return reject("malformed");
    const { host, params, scope } = parsed;

    const key = keys.get(scope.accessKeyId);
    if (key === undefined) return reject("credential");
    const sessionToken = params.get("X-Amz-Security-Token");
    if (sessionToken !== key.sessionToken) return reject("credential");

    const signingKey = deriveSigningKey(key.secretAccessKey, scope);
    const expected = hmac(signingKey, stringToSign(parsed)).toString("hex");
    const given = params.get(SIGNATURE)!;
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(given))) return reject("signature");
    // The signers are the sources under test, so a genuine token is first seen here.
    recordSecret("aws-token", token);

    if (scope.service !== config.service) return reject("service");
    if (scope.region !== config.region) return reject("region");
    if (host !== config.cacheName) return reject("host");
    if (params.get("Action") !== "connect") return reject("action");
    const resourceType = params.get("ResourceType");
    if (config.serverless ? resourceType !== "ServerlessCache" : resourceType !== undefined) {
      return reject("resource-type");
    }
    const user = params.get("User");
    if (user !== config.userId || (check.user !== undefined && check.user !== user)) {
      return reject("user");
    }
    if (parsed.expiresInSeconds > AWS_MAX_EXPIRES_SECONDS) return reject("expires-too-long");
    if (parsed.signedAt > now + config.clockSkewMs) return reject("not-yet-valid");
    const expiresAt = parsed.signedAt + parsed.expiresInSeconds * 1000;
    if (now >= expiresAt) return reject("expired");

    return {
      ok: true,
      claims: {
        oid: user,
        userId: user,
        accessKeyId: scope.accessKeyId,
        sessionToken: sessionToken !== undefined,
        cacheName: host,
        region: scope.region,
        service: config.service,
        serverless: resourceType !== undefined,
        signedAt: parsed.signedAt,
        expiresInSeconds: parsed.expiresInSeconds,
        exp: expiresAt / 1000,
        connectionLifetimeMs: config.connectionLifetimeMs,
      },
    };
  };

  return {
    region: config.region,
    cacheName: config.cacheName,
    userId: config.userId,
    service: config.service,
    serverless: config.serverless,
    connectionLifetimeMs: config.connectionLifetimeMs,
    clockSkewMs: config.clockSkewMs,
    accessKeyIds: [...keys.keys()],
    verifyToken,
  };
}

interface CredentialScope {
  accessKeyId: string;
  /** yyyymmdd */
  date: string;
  region: string;
  service: string;
}

interface ParsedToken {
  host: string;
  /** Every query parameter, decoded. */
  params: Map<string, string>;
  scope: CredentialScope;
  /** X-Amz-Date as it was signed (yyyymmddThhmmssZ). */
  amzDate: string;
  signedAt: number;
  expiresInSeconds: number;
}

/** Splits `<host>/?<query>` into its parts; undefined if it is not a SigV4 presigned URL for `<host>/`. */
function parseToken(token: string): ParsedToken | undefined {
  if (typeof token !== "string") return undefined;
  const slash = token.indexOf("/");
  const question = token.indexOf("?");
  // `http://cache/?...` (the scheme left in) has the path `//cache/`: not ours either.
  if (slash <= 0 || question !== slash + 1) return undefined;
  const host = token.slice(0, slash);
  if (!/^[\w.-]+(:\d+)?$/.test(host)) return undefined;

  const params = new Map<string, string>();
  for (const pair of token.slice(question + 1).split("&")) {
    const equals = pair.indexOf("=");
    const name = decode(equals < 0 ? pair : pair.slice(0, equals));
    const value = decode(equals < 0 ? "" : pair.slice(equals + 1));
    if (!name || value === undefined || params.has(name)) return undefined;
    params.set(name, value);
  }
  if (REQUIRED.some((name) => !params.has(name))) return undefined;
  if (params.get("X-Amz-Algorithm") !== ALGORITHM) return undefined;
  // Only the host header can be signed: the token carries no other header's value.
  if (params.get("X-Amz-SignedHeaders") !== "host") return undefined;
  if (!/^[0-9a-f]{64}$/.test(params.get(SIGNATURE)!)) return undefined;

  const amzDate = params.get("X-Amz-Date")!;
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return undefined;
  const expires = params.get("X-Amz-Expires")!;
  if (!/^\d{1,9}$/.test(expires)) return undefined;

  const parts = params.get("X-Amz-Credential")!.split("/");
  if (parts.length !== 5 || parts.some((part) => part === "")) return undefined;
  const [accessKeyId, date, region, service, terminator] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  // The scope's date is the day of X-Amz-Date, as every signer writes it.
  if (terminator !== "aws4_request" || date !== amzDate.slice(0, 8)) return undefined;

  return {
    host,
    params,
    scope: { accessKeyId, date, region, service },
    amzDate,
    signedAt,
    expiresInSeconds: Number(expires),
  };
}

function decode(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}

/** `yyyymmddThhmmssZ` → epoch ms; undefined unless it is a real UTC instant written that way. */
function parseAmzDate(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hours, minutes, seconds] = match.slice(1).map(Number) as number[];
  const at = Date.UTC(year!, month! - 1, day!, hours, minutes, seconds);
  // Date.UTC rolls 2024-02-30 over to March: such a date was not written by a signer.
  const iso = new Date(at).toISOString();
  return iso.replace(/[-:]|\.\d{3}/g, "") === text ? at : undefined;
}

/** SigV4's URI encoding: every byte but the unreserved characters (A-Z a-z 0-9 - _ . ~) as %XX. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalRequest({ host, params }: ParsedToken): string {
  const query = [...params]
    .filter(([name]) => name !== SIGNATURE)
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => compare(a, b) || compare(x, y))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  return ["GET", "/", query, `host:${host}`, "", "host", EMPTY_PAYLOAD_SHA256].join("\n");
}

function stringToSign(parsed: ParsedToken): string {
  const { scope } = parsed;
  return [
    ALGORITHM,
    parsed.amzDate,
    `${scope.date}/${scope.region}/${scope.service}/aws4_request`,
    createHash("sha256").update(canonicalRequest(parsed)).digest("hex"),
  ].join("\n");
}

function deriveSigningKey(secretAccessKey: string, scope: CredentialScope): Buffer {
  let key: Buffer | string = `AWS4${secretAccessKey}`;
  for (const part of [scope.date, scope.region, scope.service, "aws4_request"]) {
    key = hmac(key, part);
  }
  return key as Buffer;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** Byte order (the encoded strings are ASCII, so code-unit order is byte order). */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface AwsConfig {
  credentials: AwsCredentials[];
  region: string;
  cacheName: string;
  userId: string;
  serverless: boolean;
  service: AwsService;
  connectionLifetimeMs: number;
  clockSkewMs: number;
}

function validate(options: AwsVerifierOptions, prefix: string): AwsConfig {
  const name = (option: string) => `${prefix}${option}`;
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError(
      prefix ? prefix.slice(0, -1) : "options",
      "pass { credentials, region, cacheName, userId, serverless?, service?, connectionLifetimeMs? }",
    );
  }
  const list = Array.isArray(options.credentials)
    ? (options.credentials as readonly AwsCredentials[])
    : [options.credentials as AwsCredentials];
  if (list.length === 0 || options.credentials === undefined) {
    throw new InvalidOptionsError(
      name("credentials"),
      "pass { accessKeyId, secretAccessKey, sessionToken? } or a non-empty array of them",
    );
  }
  const seen = new Set<string>();
  const credentials = list.map((entry, index) => {
    const at = name(Array.isArray(options.credentials) ? `credentials[${index}]` : "credentials");
    if (typeof entry !== "object" || entry === null) {
      throw new InvalidOptionsError(at, "pass { accessKeyId, secretAccessKey, sessionToken? }");
    }
    const { accessKeyId, secretAccessKey, sessionToken } = entry;
    if (typeof accessKeyId !== "string" || !/^[\w-]+$/.test(accessKeyId)) {
      throw new InvalidOptionsError(
        `${at}.accessKeyId`,
        "must be a non-empty string of letters, digits, '_' or '-'",
      );
    }
    if (seen.has(accessKeyId)) {
      throw new InvalidOptionsError(`${at}.accessKeyId`, "is given twice: one entry per key");
    }
    seen.add(accessKeyId);
    if (typeof secretAccessKey !== "string" || secretAccessKey === "") {
      throw new InvalidOptionsError(`${at}.secretAccessKey`, "must be a non-empty string");
    }
    if (sessionToken !== undefined && (typeof sessionToken !== "string" || sessionToken === "")) {
      throw new InvalidOptionsError(`${at}.sessionToken`, "must be a non-empty string when given");
    }
    return sessionToken === undefined
      ? { accessKeyId, secretAccessKey }
      : { accessKeyId, secretAccessKey, sessionToken };
  });
  const { region, cacheName, userId } = options;
  if (typeof region !== "string" || !/^[a-z0-9-]+$/.test(region)) {
    throw new InvalidOptionsError(name("region"), "must be a region name such as us-east-1");
  }
  if (typeof cacheName !== "string" || !/^[\w.-]+$/.test(cacheName)) {
    throw new InvalidOptionsError(
      name("cacheName"),
      "must be the cache's name (letters, digits, '-', '_' or '.'): the host tokens are signed for",
    );
  }
  if (typeof userId !== "string" || !/^\S+$/.test(userId)) {
    throw new InvalidOptionsError(
      name("userId"),
      "must be the IAM-enabled user's id, a non-empty string without spaces",
    );
  }
  const serverless = options.serverless ?? false;
  if (typeof serverless !== "boolean") {
    throw new InvalidOptionsError(name("serverless"), "must be true or false");
  }
  const service = options.service ?? "elasticache";
  if (service !== "elasticache" && service !== "memorydb") {
    throw new InvalidOptionsError(name("service"), 'must be "elasticache" or "memorydb"');
  }
  const connectionLifetimeMs = options.connectionLifetimeMs ?? AWS_CONNECTION_LIFETIME_MS;
  if (
    typeof connectionLifetimeMs !== "number" ||
    !Number.isFinite(connectionLifetimeMs) ||
    connectionLifetimeMs <= 0
  ) {
    throw new InvalidOptionsError(
      name("connectionLifetimeMs"),
      "must be a positive number of milliseconds",
    );
  }
  const clockSkewMs = options.clockSkewMs ?? AWS_DEFAULT_CLOCK_SKEW_MS;
  if (typeof clockSkewMs !== "number" || !Number.isFinite(clockSkewMs) || clockSkewMs < 0) {
    throw new InvalidOptionsError(
      name("clockSkewMs"),
      "must be a number of milliseconds, 0 or more",
    );
  }
  return {
    credentials,
    region,
    cacheName,
    userId,
    serverless,
    service,
    connectionLifetimeMs,
    clockSkewMs,
  };
}
