import { assertKnownOptions, InvalidOptionsError } from "@redis-credentials/core";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

/** The AWS service the token is for: its SigV4 signing name. */
export type AwsIamService = "elasticache" | "memorydb";

export interface AwsIamOptions {
  /**
   * The IAM-enabled user's id. AWS requires its user name to equal its id, and it is the Redis
   * user name.
   */
  userId: string;
  /**
   * The ElastiCache replication group id or serverless cache name, or the MemoryDB cluster name
   * (`my-cache`, not an endpoint host name): the host of the signed URL.
   */
  cacheName: string;
  /**
   * The cache's region.
   * @default process.env.AWS_REGION, then process.env.AWS_DEFAULT_REGION
   */
  region?: string;
  /**
   * An ElastiCache Serverless cache: the token carries `ResourceType=ServerlessCache`, without
   * which every AUTH fails with WRONGPASS. Not for MemoryDB.
   * @default false
   */
  serverless?: boolean;
  /**
   * `'elasticache'` for ElastiCache, `'memorydb'` for MemoryDB.
   * @default 'elasticache'
   */
  service?: AwsIamService;
  /**
   * The AWS credentials to sign with: an identity (`{ accessKeyId, secretAccessKey,
   * sessionToken?, expiration? }`) or a provider of one (`fromTemporaryCredentials(...)`,
   * `fromInstanceMetadata()`, your own `() => Promise<identity>`), asked again at every refresh.
   * @default fromNodeProviderChain() from @aws-sdk/credential-providers, created once
   */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /**
   * How long each token is valid, in seconds (AWS accepts at most 15 minutes). Shorter only for
   * tests.
   * @default 900
   */
  expiresInSeconds?: number;
}

/** The options, checked, with their defaults. */
export interface ResolvedOptions {
  readonly userId: string;
  readonly cacheName: string;
  readonly region: string;
  readonly serverless: boolean;
  readonly service: AwsIamService;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;
  readonly expiresInSeconds: number;
}

export const MAX_EXPIRES_IN_SECONDS = 900;

const knownOptions = [
  "userId",
  "cacheName",
  "region",
  "serverless",
  "service",
  "credentials",
  "expiresInSeconds",
];

/** Names people reach for, and what they mean here. */
const suggestions: Record<string, string> = {
  username:
    "the Redis user name is always the user id (AWS requires the IAM-enabled user's name to equal its id): pass `userId`.",
  user: "pass the IAM-enabled user's id as `userId`.",
  clusterName: "the replication group, serverless cache or MemoryDB cluster name is `cacheName`.",
  replicationGroupId: "the replication group id is `cacheName`.",
  host: "pass the cache's name (the replication group id), not its endpoint, as `cacheName`; the host goes to the Redis client.",
  profile:
    "set AWS_PROFILE, or pass `credentials: fromIni({ profile })` from @aws-sdk/credential-providers.",
};

const services: readonly AwsIamService[] = ["elasticache", "memorydb"];

export function resolveOptions(options: AwsIamOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      "options",
      "must be an object with at least `userId` and `cacheName`.",
    );
  }
  assertKnownOptions(options, knownOptions, suggestions);
  const userId = resolveUserId(options.userId);
  const service = resolveService(options.service);
  const cacheName = resolveCacheName(options.cacheName, service);
  const region = resolveRegion(options.region);
  const serverless = options.serverless ?? false;
  if (typeof serverless !== "boolean") {
    throw new InvalidOptionsError("serverless", "must be a boolean when given.");
  }
  if (serverless && service === "memorydb") {
    throw new InvalidOptionsError(
      "serverless",
      "MemoryDB has no serverless caches: `serverless: true` is for ElastiCache Serverless only.",
    );
  }
  const expiresInSeconds = options.expiresInSeconds ?? MAX_EXPIRES_IN_SECONDS;
  if (
    typeof expiresInSeconds !== "number" ||
    !Number.isInteger(expiresInSeconds) ||
    expiresInSeconds < 1 ||
    expiresInSeconds > MAX_EXPIRES_IN_SECONDS
  ) {
    throw new InvalidOptionsError(
      "expiresInSeconds",
      `must be an integer from 1 to ${MAX_EXPIRES_IN_SECONDS} (AWS accepts IAM tokens valid 15 minutes at most).`,
    );
  }
  const credentials = resolveCredentials(options.credentials);
  return { userId, cacheName, region, serverless, service, credentials, expiresInSeconds };
}

function resolveUserId(userId: unknown): string {
  if (typeof userId !== "string" || userId.trim().length === 0) {
    throw new InvalidOptionsError(
      "userId",
      "must be a non-empty string: the id of the IAM-enabled ElastiCache or MemoryDB user (whose user name is the same).",
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects.
  if (/[\s\u0000-\u001f\u007f]/.test(userId)) {
    throw new InvalidOptionsError(
      "userId",
      "must not contain whitespace or control characters (AWS user ids are letters, digits and hyphens).",
    );
  }
  return userId;
}

function resolveService(service: unknown): AwsIamService {
  if (service === undefined) return "elasticache";
  if (typeof service !== "string" || !services.includes(service as AwsIamService)) {
    throw new InvalidOptionsError(
      "service",
      `must be 'elasticache' (ElastiCache, Serverless included) or 'memorydb' (MemoryDB), got ${describe(service)}.`,
    );
  }
  return service as AwsIamService;
}

function resolveCacheName(cacheName: unknown, service: AwsIamService): string {
  const what =
    service === "memorydb"
      ? "the MemoryDB cluster name"
      : "the ElastiCache replication group id or serverless cache name";
  if (typeof cacheName !== "string" || cacheName.trim().length === 0) {
    throw new InvalidOptionsError("cacheName", `must be a non-empty string: ${what}.`);
  }
  if (cacheName.includes(".")) {
    throw new InvalidOptionsError(
      "cacheName",
      `must be ${what} (like \`my-cache\`), not an endpoint host name: the host name goes to the Redis client.`,
    );
  }
  // It becomes the host of the signed URL; AWS names are 1 to 40 letters, digits and hyphens.
  if (!/^[A-Za-z0-9-]+$/.test(cacheName)) {
    throw new InvalidOptionsError(
      "cacheName",
      `must be ${what}: letters, digits and hyphens only.`,
    );
  }
  return cacheName;
}

const regionPattern = /^[a-z0-9]+(?:-[a-z0-9]+)+$/;

function resolveRegion(region: unknown): string {
  if (region !== undefined) {
    if (typeof region !== "string" || !regionPattern.test(region)) {
      throw new InvalidOptionsError(
        "region",
        `must be an AWS region name like 'us-east-1', got ${describe(region)}.`,
      );
    }
    return region;
  }
  for (const variable of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const value = process.env[variable];
    if (value === undefined || value === "") continue;
    if (!regionPattern.test(value)) {
      throw new InvalidOptionsError(
        "region",
        `not given, and ${variable} (${JSON.stringify(value.slice(0, 40))}) is not an AWS region name like 'us-east-1': set \`region\` or fix ${variable}.`,
      );
    }
    return value;
  }
  throw new InvalidOptionsError(
    "region",
    "not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set: set `region` (the cache's region, like 'us-east-1') or AWS_REGION.",
  );
}

function resolveCredentials(
  credentials: unknown,
): AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined {
  if (credentials === undefined || typeof credentials === "function") {
    return credentials as AwsCredentialIdentityProvider | undefined;
  }
  const help =
    "must be an AWS credential identity ({ accessKeyId, secretAccessKey, sessionToken?, expiration? }) or a credential provider (a function returning a promise of one, like fromTemporaryCredentials(...) from @aws-sdk/credential-providers)";
  if (typeof credentials !== "object" || credentials === null || Array.isArray(credentials)) {
    throw new InvalidOptionsError("credentials", `${help}.`);
  }
  assertKnownIdentityKeys(credentials);
  const identity = credentials as Partial<Record<keyof AwsCredentialIdentity, unknown>>;
  // Never echo the values: they are secrets.
  const missing = (["accessKeyId", "secretAccessKey"] as const).filter(
    (key) => typeof identity[key] !== "string" || (identity[key] as string).length === 0,
  );
  if (missing.length > 0) {
    throw new InvalidOptionsError(
      "credentials",
      `${help}: ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} missing or not a non-empty string.`,
    );
  }
  if (identity.sessionToken !== undefined && typeof identity.sessionToken !== "string") {
    throw new InvalidOptionsError("credentials", `${help}: sessionToken must be a string.`);
  }
  if (identity.expiration !== undefined) {
    if (!(identity.expiration instanceof Date) || Number.isNaN(identity.expiration.getTime())) {
      throw new InvalidOptionsError("credentials", `${help}: expiration must be a valid Date.`);
    }
    if (identity.expiration.getTime() <= Date.now()) {
      throw new InvalidOptionsError(
        "credentials",
        `these credentials expired at ${identity.expiration.toISOString()}: pass a credential provider, which is asked again at every refresh, rather than temporary credentials.`,
      );
    }
  }
  // A copy: what was checked is what is used.
  return Object.freeze({ ...(credentials as AwsCredentialIdentity) });
}

/** The keys of an `AwsCredentialIdentity` (`$source` and the like: SDK bookkeeping, passed). */
const identityKeys = [
  "accessKeyId",
  "secretAccessKey",
  "sessionToken",
  "expiration",
  "credentialScope",
  "accountId",
];

/** Names people reach for (the CLI's and boto's spellings) → what the SDK calls them. */
const identitySuggestions: Record<string, string> = {
  session_token: "did you mean `sessionToken`?",
  aws_session_token: "did you mean `sessionToken`?",
  access_key_id: "did you mean `accessKeyId`?",
  aws_access_key_id: "did you mean `accessKeyId`?",
  secret_access_key: "did you mean `secretAccessKey`?",
  aws_secret_access_key: "did you mean `secretAccessKey`?",
  token: "did you mean `sessionToken`?",
  expiry: "did you mean `expiration`?",
};

/**
 * Refuses a misspelt key in a credential identity (names only, never values): a `session_token`
 * left out would sign without the session token, and AWS would refuse every token signed so.
 */
function assertKnownIdentityKeys(identity: object): void {
  const unknown = Object.keys(identity).filter(
    (key) => !identityKeys.includes(key) && !key.startsWith("$"),
  );
  if (unknown.length === 0) return;
  const prefixed = (key: string) => `credentials.${key}`;
  assertKnownOptions(
    Object.fromEntries(unknown.map((key) => [prefixed(key), true])),
    identityKeys.map(prefixed),
    Object.fromEntries(
      Object.entries(identitySuggestions).map(([key, hint]) => [prefixed(key), hint]),
    ),
  );
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (value === null) return "null";
  return typeof value;
}
