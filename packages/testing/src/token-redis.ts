import { randomBytes } from "node:crypto";
import { InvalidOptionsError } from "@redis-credentials/core";
import { createCertificateAuthority } from "./certificates";
import { startTokenCluster, type TokenCluster } from "./cluster";
import { type RedisProcess, startRedisServer } from "./redis-process";
import { startTokenSentinel, type TokenSentinel } from "./sentinel";
import { createTokenProxy, ProxyStats, type TokenProxy, type TokenVerifier } from "./token-proxy";
import type {
  ClusterOptions,
  SentinelOptions,
  TokenRedis,
  TokenRedisOptions,
} from "./token-redis-types";

export type { TokenRedis, TokenRedisOptions } from "./token-redis-types";

/**
 * Starts a token-enforcing Redis on a random loopback port (a cluster with `cluster`, a
 * sentinel-managed master and replicas with `sentinel`).
 */
export async function startTokenRedis(
  options: TokenRedisOptions & { cluster: ClusterOptions },
): Promise<TokenCluster>;
export async function startTokenRedis(
  options: TokenRedisOptions & { sentinel: SentinelOptions },
): Promise<TokenSentinel>;
export async function startTokenRedis(options: TokenRedisOptions): Promise<TokenRedis>;
export async function startTokenRedis(options: TokenRedisOptions): Promise<TokenRedis> {
  validate(options);
  if (options.cluster !== undefined) return startTokenCluster(options);
  if (options.sentinel !== undefined) return startTokenSentinel(options);
  const tls = options.tls ?? true;
  const authority = tls ? createCertificateAuthority() : undefined;
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
      ...(authority ? { tls: authority.issueServerCertificate() } : {}),
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

function validate(options: TokenRedisOptions) {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "pass { identity }");
  }
  const identity = options.identity as Partial<TokenVerifier> | undefined;
  if (typeof identity?.verifyToken !== "function") {
    throw new InvalidOptionsError(
      "identity",
      "must verify tokens: pass the identity emulator (startIdentityEmulator()) or a token issuer",
    );
  }
  if (options.tls !== undefined && typeof options.tls !== "boolean") {
    throw new InvalidOptionsError("tls", "must be true or false");
  }
  if (options.cluster !== undefined && options.sentinel !== undefined) {
    throw new InvalidOptionsError("sentinel", "cannot be combined with cluster: pass one of them");
  }
}
