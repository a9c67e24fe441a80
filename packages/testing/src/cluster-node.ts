import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { connectAdmin, replyText } from "./admin-client";
import type { ProxiedNode } from "./node-set";
import { PortInUseError, type RedisProcess, startRedisServer } from "./redis-process";
import {
  createTokenProxy,
  type ProxyStats,
  type TokenProxy,
  type TokenVerifier,
} from "./token-proxy";

/*
 * Small enough that a failover settles in about a second, large enough that a loaded CI machine
 * does not flag healthy nodes as failing. A node paused for longer than this (plus the election
 * delay) is failed over automatically when it has a replica, as on a real cluster.
 */
export const NODE_TIMEOUT_MS = 2000;

/** One cluster node: a redis-server that announces its proxy's address, and the proxy. */
export interface ClusterNode extends ProxiedNode {
  /** The cluster bus port (the server's own, not proxied: only nodes talk on it). */
  readonly busPort: number;
  /** The cluster node id (kept across restarts in nodes.conf). */
  readonly id: string;
}

export interface StartClusterNodeOptions {
  index: number;
  /** The servers' internal password. */
  password: string;
  identity: TokenVerifier;
  stats: ProxyStats;
  /**
   * Replicas replicate through their master's proxy: it must let them in with the internal
   * password. Off in a cluster without replicas, where nothing needs it.
   */
  replication: boolean;
  /** The proxy's certificate; with `files`, replicas replicate over TLS too. */
  tls?: { key: string; cert: string; files?: ReplicationTlsFiles | undefined };
}

/** Starts a node: a redis-server that announces its proxy, the proxy, and an admin connection. */
export async function startClusterNode(options: StartClusterNodeOptions): Promise<ClusterNode> {
  let busPort = 0;
  const { server, proxy } = await startProxiedServer({
    ...options,
    internalAuth: options.replication,
    args: async (proxyPort) => {
      const held = await holdPort();
      await held.release();
      busPort = held.port;
      return serverArgs(proxyPort, busPort, options.tls?.files);
    },
  });
  try {
    const admin = await connectAdmin({
      host: server.host,
      port: server.port,
      password: options.password,
    });
    const id = replyText(await admin.command("CLUSTER", "MYID"));
    // Distinct epochs from the start spare the cluster its epoch-collision resolution.
    await admin.command("CLUSTER", "SET-CONFIG-EPOCH", String(options.index + 1));
    return { index: options.index, server, proxy, busPort, id, admin };
  } catch (error) {
    await Promise.all([proxy.close(), server.stop()]);
    throw error;
  }
}

export interface StartProxiedServerOptions {
  /** The server's internal password. */
  password: string;
  identity: TokenVerifier;
  stats: ProxyStats;
  /** Let the internal password through the proxy (replication, sentinel). */
  internalAuth: boolean;
  /** The proxy's certificate. */
  tls?: { key: string; cert: string } | undefined;
  /** The server's arguments, given the port its proxy will listen on (to announce it). */
  args(proxyPort: number): Promise<string[]> | string[];
}

/**
 * Starts a redis-server behind a token proxy whose port the server knows from the start (it
 * announces it, and restarts reuse the arguments): a placeholder listener holds the port until
 * the server is up, then hands it over to the proxy. Ports taken meanwhile are retried.
 */
export async function startProxiedServer(
  options: StartProxiedServerOptions,
): Promise<{ server: RedisProcess; proxy: TokenProxy }> {
  for (let attempt = 1; ; attempt++) {
    const proxyPort = await holdPort();
    let server: RedisProcess;
    try {
      server = await startRedisServer({
        password: options.password,
        args: await options.args(proxyPort.port),
      });
    } catch (error) {
      await proxyPort.release();
      // Something took a port the arguments name (a bus port) before the server bound it.
      if (attempt < 3 && error instanceof PortInUseError) continue;
      throw error;
    }
    try {
      await proxyPort.release();
      const proxy = await createTokenProxy({
        upstreamPort: server.port,
        upstreamPassword: options.password,
        identity: options.identity,
        port: proxyPort.port,
        stats: options.stats,
        internalAuth: options.internalAuth,
        ...(options.tls ? { tls: { key: options.tls.key, cert: options.tls.cert } } : {}),
      });
      return { server, proxy };
    } catch (error) {
      await server.stop();
      if (attempt < 3 && (error as NodeJS.ErrnoException).code === "EADDRINUSE") continue;
      throw error;
    }
  }
}

function serverArgs(proxyPort: number, busPort: number, tls: ReplicationTlsFiles | undefined) {
  return [
    ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
    ...["--cluster-node-timeout", String(NODE_TIMEOUT_MS)],
    // What CLUSTER SLOTS/SHARDS/NODES, MOVED and ASK tell clients: the proxy.
    ...["--cluster-announce-ip", "127.0.0.1", "--cluster-announce-port", String(proxyPort)],
    ...["--cluster-port", String(busPort), "--cluster-announce-bus-port", String(busPort)],
    // A replica syncs at once instead of after the default 5 s grace for more replicas.
    ...["--repl-diskless-sync-delay", "0"],
    // CLUSTER SLOTS hides a replica while its replication offset is 0, as after syncing from a
    // master that never wrote (a new one, or one restarted empty): the master's pings move the
    // offset within a second instead of the default ten.
    ...["--repl-ping-replica-period", "1"],
    ...replicationTlsArgs(tls),
  ];
}

/** Replicate (or, for a sentinel, reach the servers) over TLS, trusting the proxies' CA. */
export function replicationTlsArgs(tls: ReplicationTlsFiles | undefined): string[] {
  if (!tls) return [];
  return [
    ...["--tls-replication", "yes", "--tls-ca-cert-file", tls.ca],
    // Redis wants a certificate of its own to set TLS up, even as a client.
    ...["--tls-cert-file", tls.cert, "--tls-key-file", tls.key],
  ];
}

export interface ReplicationTlsFiles {
  key: string;
  cert: string;
  ca: string;
}

/**
 * Replicas replicate from their master's announced address, its proxy, like any client: with TLS
 * on, they speak TLS to it and must trust its CA. Writes the files redis-server reads.
 */
export function writeReplicationTlsFiles(
  dir: string,
  certificate: { key: string; cert: string },
  ca: string,
): ReplicationTlsFiles {
  const files = {
    key: join(dir, "node.key"),
    cert: join(dir, "node.crt"),
    ca: join(dir, "ca.crt"),
  };
  writeFileSync(files.key, certificate.key, { mode: 0o600 });
  writeFileSync(files.cert, certificate.cert);
  writeFileSync(files.ca, ca);
  return files;
}

/** A free loopback port, kept bound until `release()`. */
function holdPort(): Promise<{ port: number; release(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({ port, release: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}
