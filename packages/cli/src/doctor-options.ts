import type { LookupAddress } from "node:dns";
import type { ClientSecretCredentialOptions } from "@azure/identity";
import type { AwsIamOptions, AwsIamService } from "@redis-credentials/aws-iam";
import type { CredentialSource } from "@redis-credentials/core";
import type { GcpIamOptions } from "@redis-credentials/gcp-iam";

/** Microsoft Entra ID tokens, through `@redis-credentials/entra-id`. */
export interface DoctorEntraCredentials {
  readonly kind: "entra";
  /**
   * The directory (tenant) id: of the service principal with `clientSecret`; otherwise passed
   * to `DefaultAzureCredential`.
   */
  readonly tenantId?: string;
  /** The application (client) id of a service principal, with `clientSecret` and `tenantId`. */
  readonly clientId?: string;
  /** The service principal's client secret. Never shown. */
  readonly clientSecret?: string;
  /**
   * A managed identity instead: `true` for the system-assigned one, a client id for a
   * user-assigned one.
   * @default DefaultAzureCredential, when neither this nor `clientSecret` is given
   */
  readonly managedIdentity?: boolean | string;
  /** Passed to the `@azure/identity` credential (`authorityHost`, `tlsOptions`, ...). */
  readonly credentialOptions?: ClientSecretCredentialOptions;
}

/** ElastiCache or MemoryDB IAM authentication, through `@redis-credentials/aws-iam`. */
export interface DoctorAwsCredentials {
  readonly kind: "aws";
  /** The IAM-enabled user's id (its user name must equal it). */
  readonly userId: string;
  /** The replication group id, serverless cache name or MemoryDB cluster name. */
  readonly cacheName: string;
  /** @default process.env.AWS_REGION, then AWS_DEFAULT_REGION */
  readonly region?: string;
  /** ElastiCache Serverless. @default false */
  readonly serverless?: boolean;
  /** @default 'elasticache' */
  readonly service?: AwsIamService;
  /** @default the AWS SDK's default credential chain */
  readonly credentials?: AwsIamOptions["credentials"];
}

/** Memorystore IAM authentication, through `@redis-credentials/gcp-iam`. */
export interface DoctorGcpCredentials {
  readonly kind: "gcp";
  /** @default Application Default Credentials (`new GoogleAuth({ scopes })`) */
  readonly auth?: GcpIamOptions["auth"];
}

/** A user name and password, for diagnosing any other source. */
export interface DoctorStaticCredentials {
  readonly kind: "static";
  /** @default 'default' */
  readonly username?: string;
  /** Never shown. */
  readonly password: string;
  /** Where the password came from, for the report (`$REDIS_PASSWORD`). */
  readonly passwordFrom?: string;
}

/** Any credential source of your own. */
export interface DoctorSourceCredentials {
  readonly kind: "source";
  readonly source: CredentialSource;
}

/** Where the token (or password) comes from. */
export type DoctorCredentials =
  | DoctorEntraCredentials
  | DoctorAwsCredentials
  | DoctorGcpCredentials
  | DoctorStaticCredentials
  | DoctorSourceCredentials;

/** Resolves a host name to its addresses, as `dns.promises.lookup(host, { all: true })` does. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** What `runDoctor` checks, and how. */
export interface DoctorOptions {
  /** The Redis host name or IP address (for a cluster: any node, or its discovery endpoint). */
  readonly host: string;
  /**
   * Azure Managed Redis: 10000; Azure Cache for Redis: 6380; ElastiCache, MemoryDB, Memorystore:
   * 6379.
   * @default 6379
   */
  readonly port?: number;
  /**
   * TLS, as every cloud requires for token authentication. With `false` the token crosses the
   * network in clear: only for a local server.
   * @default true
   */
  readonly tls?: boolean;
  /** PEM of the CA certificates to trust instead of Node.js's default ones. @default Node.js's trust store */
  readonly ca?: string;
  /** Also check every node `CLUSTER SLOTS` (or `CLUSTER SHARDS`) announces. @default false */
  readonly cluster?: boolean;
  /** How long each step may take before it fails as timed out, in milliseconds. @default 10_000 */
  readonly timeoutMs?: number;
  readonly credentials: DoctorCredentials;
  /** How host names are resolved. @default `dns.promises.lookup(host, { all: true })` */
  readonly lookup?: HostLookup;
}
