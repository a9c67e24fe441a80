import { randomBytes } from "node:crypto";
import { assertKnownOptions, InvalidOptionsError } from "@redis-credentials/core";
import { buildAwsVerifier } from "./aws-verifier";
import { createCertificateAuthority } from "./certificates";
import { startTokenCluster, type TokenCluster } from "./cluster";
import { buildGcpVerifier } from "./gcp-verifier";
import { type RedisProcess, startRedisServer } from "./redis-process";
import { startTokenSentinel, type TokenSentinel } from "./sentinel";
import { createTokenProxy, ProxyStats, type TokenProxy, type TokenVerifier } from "./token-proxy";
import type {
  ClusterOptions,
  IdentityTokenRedisOptions,
  SentinelOptions,
  TokenRedis,
  TokenRedisOptions,
} from "./token-redis-types";

export type { TokenRedis, TokenRedisOptions } from "./token-redis-types";

/**
 * Starts a token-enforcing Redis on a random loopback port (a cluster with `cluster`, a
 * sentinel-managed master and replicas with `sentinel`), checking tokens with `identity` (Entra
 * ID), as AWS checks ElastiCache / MemoryDB IAM tokens (`aws`), or as Memorystore checks the
 * Google access tokens of `identity` (`gcp`).
 */
export async function startTokenRedis(
  options: TokenRedisOptions & { cluster: ClusterOptions },
): Promise<TokenCluster>;
export async function startTokenRedis(
  options: TokenRedisOptions & { sentinel: SentinelOptions },
): Promise<TokenSentinel>;
export async function startTokenRedis(options: TokenRedisOptions): Promise<TokenRedis>;
export async function startTokenRedis(input: TokenRedisOptions): Promise<TokenRedis> {
  const options = validate(input);
  if (options.cluster !== undefined) return startTokenCluster(options);
  if (options.sentinel !== undefined) return startTokenSentinel(options);
  const tls = options.tls ?? true;
  const authority = tls ? await createCertificateAuthority() : undefined;
  const certificate = await authority?.issueServerCertificate();
  const password = randomBytes(24).toString("hex");
  const stats = new ProxyStats();
  const server = await startRedisServer({ password });
  let proxy: TokenProxy;
  try {
    proxy = await createTokenProxy({
      upstreamPort: server.port,
      upstreamPassword: password,
      identity: options.identity,
      stats,
      ...(certificate ? { tls: certificate } : {}),
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return standalone(server, proxy, stats, authority?.ca);
}

function standalone(
  server: RedisProcess,
  proxy: TokenProxy,
  stats: ProxyStats,
  ca: string | undefined,
): TokenRedis {
  const resumeTimers = new Set<NodeJS.Timeout>();
  let stopping: Promise<void> | undefined;
  const node = (index: number) => {
    if (index !== 0) throw new InvalidOptionsError("index", `there is one node (0), not ${index}`);
    return server;
  };
  const stop = () => {
    stopping ??= (async () => {
      for (const timer of resumeTimers) clearTimeout(timer);
      await proxy.close();
      await server.stop();
    })();
    return stopping;
  };
  return {
    host: proxy.host,
    port: proxy.port,
    nodes: [{ host: proxy.host, port: proxy.port }],
    ca,
    stats: () => stats.snapshot(),
    connections: () => proxy.connections(),
    killConnections: (filter) => proxy.killConnections(filter),
    restartNode: (index = 0) => node(index).restart(),
    pauseNode(index = 0, ms) {
      node(index).pause();
      if (ms === undefined) return;
      const timer = setTimeout(() => {
        resumeTimers.delete(timer);
        server.resume();
      }, ms);
      resumeTimers.add(timer);
    },
    resumeNode: (index = 0) => node(index).resume(),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The options `startTokenRedis` reads; anything else in them is a mistake. */
const tokenRedisOptionNames = ["identity", "aws", "gcp", "tls", "cluster", "sentinel"];

/**
 * Checks the options and settles who verifies tokens: `identity`, an AWS verifier built from
 * `aws`, or a GCP verifier built from `gcp` over `identity`'s Google access tokens.
 */
function validate(options: TokenRedisOptions): IdentityTokenRedisOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "pass { identity }, { aws } or { identity, gcp }");
  }
  // A misspelt `cluser` or `sentinal` would start a single server the test did not ask for.
  assertKnownOptions(options, tokenRedisOptionNames, {
    clusters: "did you mean `cluster`?",
    verifier: "did you mean `identity`? It takes any token verifier.",
    issuer: "did you mean `identity`? It takes a token issuer too.",
    useTLS: "did you mean `tls`?",
  });
  if (options.gcp !== undefined && options.aws !== undefined) {
    throw new InvalidOptionsError("gcp", "cannot be combined with aws: pass one of them");
  }
  if (options.identity !== undefined && options.aws !== undefined) {
    throw new InvalidOptionsError("aws", "cannot be combined with identity: pass one of them");
  }
  let identity: TokenVerifier;
  if (options.aws !== undefined) {
    identity = buildAwsVerifier(options.aws, "aws.");
  } else if (options.gcp !== undefined) {
    identity = buildGcpVerifier(options.gcp, options.identity, "gcp.");
  } else {
    const verifier = options.identity as Partial<TokenVerifier> | undefined;
    if (typeof verifier?.verifyToken !== "function") {
      throw new InvalidOptionsError(
        "identity",
        "must verify tokens: pass the identity emulator (startIdentityEmulator()) or a token issuer, or pass aws for ElastiCache / MemoryDB IAM authentication",
      );
    }
    identity = verifier as TokenVerifier;
  }
  if (options.tls !== undefined && typeof options.tls !== "boolean") {
    throw new InvalidOptionsError("tls", "must be true or false");
  }
  if (options.cluster !== undefined && options.sentinel !== undefined) {
    throw new InvalidOptionsError("sentinel", "cannot be combined with cluster: pass one of them");
  }
  const { tls, cluster, sentinel } = options;
  return {
    identity,
    ...(tls !== undefined && { tls }),
    ...(cluster !== undefined && { cluster }),
    ...(sentinel !== undefined && { sentinel }),
  };
}
