// The options and the handle of a token-enforcing Redis, in a file of their own: startTokenRedis
// (token-redis.ts) starts a cluster (cluster.ts) or a sentinel setup (sentinel.ts), and those
// build on these types, so the imports between the three go one way.
import type { AwsVerifierOptions } from "./aws-verifier";
import type { GcpOptions, GoogleTokenVerifier } from "./gcp-verifier";
import type {
  ConnectionFilter,
  ConnectionStats,
  TokenRedisStats,
  TokenVerifier,
} from "./token-proxy";

/** The shape of the cluster: `masters` shards, each with `replicasPerMaster` replicas. */
export interface ClusterOptions {
  /** Shards; the 16384 slots are split evenly between them, in order. */
  masters: number;
  /** @default 0 */
  replicasPerMaster?: number;
}

/** The shape of a sentinel-managed Redis: one master, `replicas` replicas, one sentinel. */
export interface SentinelOptions {
  /** @default 1 */
  replicas?: number;
  /** The name sentinel monitors the master under. @default "mymaster" */
  masterName?: string;
}

/** What every token-enforcing Redis takes, whoever verifies its tokens. */
export interface TokenRedisServerOptions {
  /**
   * Clients connect over TLS, trusting `ca` (token authentication is TLS-only on Azure, and IAM
   * authentication needs in-transit encryption on AWS; it is optional on Memorystore). @default true
   */
  tls?: boolean;
  /** Run a Redis Cluster instead of one server. @default a single server */
  cluster?: ClusterOptions;
  /** Run a master with replicas, monitored by redis-sentinel. @default a single server */
  sentinel?: SentinelOptions;
}

/** Entra ID mode (or any verifier of your own): tokens are checked by `identity`. */
export interface IdentityTokenRedisOptions extends TokenRedisServerOptions {
  /** Verifies the tokens clients AUTH with: the identity emulator (or a TokenIssuer, or any TokenVerifier). */
  identity: TokenVerifier;
  aws?: undefined;
  gcp?: undefined;
}

/**
 * AWS mode: Amazon ElastiCache / MemoryDB IAM authentication. The AUTH user name is the user id,
 * the password a SigV4 presigned `connect` URL; a connection is closed `connectionLifetimeMs`
 * (12 hours) after its last successful AUTH.
 */
export interface AwsTokenRedisOptions extends TokenRedisServerOptions {
  /** The cache's IAM settings and the credentials allowed to sign its tokens. */
  aws: AwsVerifierOptions;
  identity?: undefined;
  gcp?: undefined;
}

/**
 * GCP mode: Google Cloud Memorystore IAM authentication. The AUTH user is `default`, the password
 * a Google access token from `identity`'s metadata server; a token is checked only when a
 * connection authenticates, and a connection is closed `gcp.connectionLifetimeMs` (12 hours)
 * after its last successful AUTH. New connections beyond `gcp.newConnectionsPerSecond` get
 * `-ERR_IAM_EXHAUSTED`.
 */
export interface GcpTokenRedisOptions extends TokenRedisServerOptions {
  /** The identity emulator that issued the access tokens (anything with `verifyGoogleAccessToken`). */
  identity: GoogleTokenVerifier;
  /** Memorystore's IAM settings; `{}` for the defaults. */
  gcp: GcpOptions;
  aws?: undefined;
}

/**
 * `identity` alone (Entra ID), `aws` alone (ElastiCache / MemoryDB IAM), or `identity` with `gcp`
 * (Memorystore IAM).
 */
export type TokenRedisOptions =
  | IdentityTokenRedisOptions
  | AwsTokenRedisOptions
  | GcpTokenRedisOptions;

/** A redis-server (or a cluster of them) that enforces token authentication as Azure, AWS or Google Cloud does. */
export interface TokenRedis extends AsyncDisposable {
  /** Where clients connect: the server, or a seed node of the cluster. */
  readonly host: string;
  readonly port: number;
  /** Every node clients can reach (one for a single server). */
  readonly nodes: { host: string; port: number }[];
  /** PEM of the CA that signed the server certificate; undefined without TLS. */
  readonly ca: string | undefined;
  /** Counters: AUTHs, rejections by reason, closes at expiry, live connections. */
  stats(): TokenRedisStats;
  /** The live client connections. */
  connections(): ConnectionStats[];
  /** Closes the matching client connections (all without a filter); returns how many. */
  killConnections(filter?: ConnectionFilter): number;
  /** Kills a node's redis-server and starts it again on the same port; its clients are disconnected. */
  restartNode(index?: number): Promise<void>;
  /** Freezes a node (SIGSTOP): commands hang until resumeNode, or for `ms` when given. */
  pauseNode(index?: number, ms?: number): void;
  resumeNode(index?: number): void;
  /** Stops every server and proxy; leaves no process or temporary directory behind. Idempotent. */
  stop(): Promise<void>;
}
