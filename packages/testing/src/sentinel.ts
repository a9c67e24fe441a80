import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CredentialsError, InvalidOptionsError } from "@redis-credentials/core";
import { type AdminClient, AdminCommandError, connectAdmin, replyText } from "./admin-client";
import { createCertificateAuthority } from "./certificates";
import {
  type ReplicationTlsFiles,
  replicationTlsArgs,
  startProxiedServer,
  writeReplicationTlsFiles,
} from "./cluster-node";
import { NodeSet, type ProxiedNode } from "./node-set";
import { type RedisProcess, startRedisServer } from "./redis-process";
import type { RespValue } from "./resp";
import { ProxyStats } from "./token-proxy";
import type {
  IdentityTokenRedisOptions,
  SentinelOptions,
  TokenRedis,
  TokenRedisOptions,
} from "./token-redis-types";

/**
 * A master and its replicas, each behind a token-enforcing proxy, monitored by one redis-sentinel.
 * `nodes` lists the first master, then the replicas. Every address sentinel hands out (SENTINEL
 * get-master-addr-by-name, MASTER, REPLICAS) is one of `nodes`: an enforcing proxy. The sentinel
 * itself is reached without a token, over plain TCP even when the proxies speak TLS. A master
 * paused for longer than sentinel's down-after period (3 s) is failed over automatically.
 * `restartNode` restarts a node empty, with the role it started with.
 */
export interface TokenSentinel extends TokenRedis {
  /** The master's proxy: node 0 at the start, the promoted node after `failover()`. */
  readonly host: string;
  readonly port: number;
  /** Where clients reach redis-sentinel: plain TCP, no AUTH. */
  readonly sentinels: { host: string; port: number }[];
  readonly masterName: string;
  /**
   * SENTINEL FAILOVER: resolves once sentinel reports the promoted replica as the master, which
   * serves writes. The former master is made a replica of it at once (sentinel would convert it
   * some 10 s later) and its client connections are closed, as sentinel's conversion does; every
   * other running node then replicates the new master.
   */
  failover(): Promise<void>;
}

/** The sentinel setup did not come up, or did not settle after a failover, in time. */
export class SentinelError extends CredentialsError {
  override name = "SentinelError";
}

export const MAX_SENTINEL_REPLICAS = 8;
/** Short, so that a paused master is failed over soon, but far above any event-loop stall. */
const DOWN_AFTER_MS = 3000;
const FAILOVER_TIMEOUT_MS = 6000;

/** Starts a sentinel-managed Redis of token-enforcing nodes; `startTokenRedis({ sentinel })` calls this. */
export async function startTokenSentinel(
  options: IdentityTokenRedisOptions,
): Promise<TokenSentinel> {
  const { replicas, masterName } = validateSentinel(options.sentinel);
  const password = randomBytes(24).toString("hex");
  const authority = (options.tls ?? true) ? await createCertificateAuthority() : undefined;
  // Named as redis-process names its directories, so a crashed run's leftovers are swept too.
  const filesDir = mkdtempSync(join(tmpdir(), `redis-credentials-${process.pid}-sentinel-`));
  const setup = new Sentinel(masterName, password, filesDir, authority?.ca);
  try {
    const certificate = await authority?.issueServerCertificate();
    // Replicas, and the sentinel, reach the servers through their proxies: over TLS with it on.
    const tlsFiles =
      authority && certificate
        ? writeReplicationTlsFiles(filesDir, certificate, authority.ca)
        : undefined;
    const startNode = (masterPort?: number) =>
      startProxiedServer({
        password,
        identity: options.identity,
        stats: setup.proxyStats,
        // Replication and sentinel's own connections authenticate with the internal password.
        internalAuth: true,
        tls: certificate,
        args: (proxyPort) => [
          // What INFO tells sentinel about a replica, and so what sentinel tells clients: its proxy.
          ...["--replica-announce-ip", "127.0.0.1", "--replica-announce-port", String(proxyPort)],
          // A replica syncs at once instead of after the default 5 s grace for more replicas.
          ...["--repl-diskless-sync-delay", "0"],
          ...(masterPort === undefined ? [] : ["--replicaof", "127.0.0.1", String(masterPort)]),
          ...replicationTlsArgs(tlsFiles),
        ],
      });
    setup.nodes.push({ index: 0, ...(await startNode()), admin: undefined });
    const masterPort = setup.nodes[0]!.proxy.port;
    const started = await Promise.allSettled(
      Array.from({ length: replicas }, () => startNode(masterPort)),
    );
    for (const result of started) {
      if (result.status === "fulfilled") {
        setup.nodes.push({ index: setup.nodes.length, ...result.value, admin: undefined });
      }
    }
    for (const result of started) if (result.status === "rejected") throw result.reason;
    await setup.startSentinel(tlsFiles);
    return setup.handle();
  } catch (error) {
    await setup.stop();
    throw error;
  }
}

function validateSentinel(sentinel: TokenRedisOptions["sentinel"]): Required<SentinelOptions> {
  if (typeof sentinel !== "object" || sentinel === null) {
    throw new InvalidOptionsError("sentinel", "pass { replicas?, masterName? }");
  }
  const { replicas = 1, masterName = "mymaster" } = sentinel;
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_SENTINEL_REPLICAS) {
    throw new InvalidOptionsError(
      "sentinel.replicas",
      `must be an integer from 0 to ${MAX_SENTINEL_REPLICAS}`,
    );
  }
  if (typeof masterName !== "string" || !/^[\w.-]{1,64}$/.test(masterName)) {
    throw new InvalidOptionsError(
      "sentinel.masterName",
      "must be 1 to 64 letters, digits, '_', '.' or '-'",
    );
  }
  return { replicas, masterName };
}

/** A RESP2 array of alternating names and values (SENTINEL MASTER, INFO-like replies) as a record. */
function fields(reply: RespValue): Record<string, string> {
  const record: Record<string, string> = {};
  const values = reply.type === "array" ? reply.value.map(replyText) : [];
  for (let i = 0; i + 1 < values.length; i += 2) record[values[i]!] = values[i + 1]!;
  return record;
}

/** `field:value` lines of an INFO section. */
function info(text: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) record[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return record;
}

class Sentinel extends NodeSet<ProxiedNode> {
  readonly proxyStats = new ProxyStats();
  private sentinel: RedisProcess | undefined;
  private sentinelAdmin: AdminClient | undefined;
  /** The master as of the start or the last failover(). */
  private master = 0;

  constructor(
    private readonly masterName: string,
    password: string,
    filesDir: string,
    private readonly ca: string | undefined,
  ) {
    super(password, filesDir);
  }

  protected error(message: string): Error {
    return new SentinelError(message);
  }

  /**
   * Starts redis-sentinel once every replica is online, so that its first INFO of the master
   * lists them all (the next one comes 10 s later), and waits until it sees every node healthy.
   */
  async startSentinel(tls: ReplicationTlsFiles | undefined): Promise<void> {
    const [master, ...replicas] = this.nodes as [ProxiedNode, ...ProxiedNode[]];
    await this.until("the replicas to sync", async () => {
      const fromMaster = info(replyText(await this.command(master, "INFO", "replication")));
      const online = replicas.filter((node) =>
        Object.values(fromMaster).some(
          (value) => value.includes(`port=${node.proxy.port},`) && value.includes("online"),
        ),
      );
      return online.length === replicas.length ? undefined : `${online.length} replicas are online`;
    });
    const name = this.masterName;
    const configFile = join(this.filesDir, "sentinel.conf");
    const config = [
      `sentinel monitor ${name} 127.0.0.1 ${master.proxy.port} 1`,
      `sentinel auth-pass ${name} ${this.password}`,
      `sentinel down-after-milliseconds ${name} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${name} ${FAILOVER_TIMEOUT_MS}`,
      `sentinel parallel-syncs ${name} ${Math.max(1, replicas.length)}`,
    ];
    writeFileSync(configFile, `${config.join("\n")}\n`, { mode: 0o600 });
    this.sentinel = await startRedisServer({
      configFile,
      args: ["--sentinel", ...replicationTlsArgs(tls)],
    });
    await this.until("sentinel to see the master and every replica", async () => {
      const problem = await this.sentinelMasterProblem(master);
      if (problem) return problem;
      const listed = await this.sentinelCommand("SENTINEL", "REPLICAS", name);
      const entries = (listed.type === "array" ? listed.value : []).map(fields);
      for (const node of replicas) {
        const entry = entries.find((candidate) => Number(candidate.port) === node.proxy.port);
        if (entry?.flags !== "slave" || entry["master-link-status"] !== "ok") {
          return `sentinel sees node ${node.index} as ${entry ? entry.flags : "unknown"}`;
        }
      }
      return undefined;
    });
  }

  handle(): TokenSentinel {
    const sentinel = this.sentinel!;
    const stop = () => this.stop();
    const nodes = this.nodes;
    const master = () => nodes[this.master]!.proxy;
    return {
      get host() {
        return master().host;
      },
      get port() {
        return master().port;
      },
      nodes: nodes.map(({ proxy }) => ({ host: proxy.host, port: proxy.port })),
      sentinels: [{ host: sentinel.host, port: sentinel.port }],
      masterName: this.masterName,
      ca: this.ca,
      // Replication and sentinel's connections run through the proxies too, outside all three.
      stats: () => this.proxyStats.snapshot(),
      connections: () => this.connections(),
      killConnections: (filter) => this.killConnections(filter),
      restartNode: (index = 0) => this.restartNode(index),
      pauseNode: (index = 0, ms) => this.pauseNode(index, ms),
      resumeNode: (index = 0) => this.resumeNode(index),
      failover: () => this.failover(),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }

  private async failover() {
    if (this.nodes.length < 2) throw new SentinelError("There is no replica to promote");
    const name = this.masterName;
    // Start from rest: not while sentinel is failing over by itself (a paused master).
    let oldPort = 0;
    await this.until("sentinel to be at rest before the failover", async () => {
      const master = fields(await this.sentinelCommand("SENTINEL", "MASTER", name));
      oldPort = Number(master.port);
      return master.flags === "master" ? undefined : `sentinel flags the master ${master.flags}`;
    });
    // Refused until sentinel has a replica it trusts (one it has heard from lately).
    await this.until("sentinel to accept SENTINEL FAILOVER", async () => {
      try {
        await this.sentinelCommand("SENTINEL", "FAILOVER", name);
        return undefined;
      } catch (error) {
        if (error instanceof AdminCommandError && /^(NOGOODSLAVE|INPROG)/.test(error.reply ?? "")) {
          return error.reply;
        }
        throw error;
      }
    });
    let promoted: ProxiedNode | undefined;
    await this.until("sentinel to switch to the promoted replica", async () => {
      const master = fields(await this.sentinelCommand("SENTINEL", "MASTER", name));
      promoted = this.nodes.find((node) => node.proxy.port === Number(master.port));
      if (!promoted || promoted.proxy.port === oldPort) return "the master has not changed yet";
      return this.sentinelMasterProblem(promoted);
    });
    const newMaster = promoted!;
    const oldMaster = this.nodes.find((node) => node.proxy.port === oldPort);
    if (oldMaster && !this.paused.has(oldMaster.index)) {
      // Sentinel demotes with REPLICAOF and CLIENT KILL in one transaction; here the clients go
      // first, so that none of them gets a READONLY from the demoted master in between.
      oldMaster.proxy.killConnections();
      await this.command(oldMaster, "REPLICAOF", "127.0.0.1", String(newMaster.proxy.port));
    }
    this.master = newMaster.index;
    await this.until("every node to replicate the promoted one", async () => {
      const role = info(replyText(await this.command(newMaster, "INFO", "replication")));
      if (role.role !== "master") return `node ${newMaster.index} is not a master`;
      for (const node of this.nodes) {
        if (node === newMaster || this.paused.has(node.index)) continue;
        const replica = info(replyText(await this.command(node, "INFO", "replication")));
        if (
          replica.master_port !== String(newMaster.proxy.port) ||
          replica.master_link_status !== "up"
        ) {
          return `node ${node.index} does not replicate node ${newMaster.index} yet`;
        }
      }
      return undefined;
    });
  }

  /** What keeps sentinel from reporting `master` as a healthy master, or undefined. */
  private async sentinelMasterProblem(master: ProxiedNode): Promise<string | undefined> {
    const entry = fields(await this.sentinelCommand("SENTINEL", "MASTER", this.masterName));
    if (Number(entry.port) !== master.proxy.port) {
      return `sentinel sees the master at ${entry.ip}:${entry.port}`;
    }
    // failover_in_progress, s_down, o_down, disconnected: not yet.
    if (entry.flags !== "master") return `sentinel flags the master ${entry.flags}`;
    const role = info(replyText(await this.command(master, "INFO", "replication")));
    return role.role === "master" ? undefined : `node ${master.index} is not a master yet`;
  }

  private async sentinelCommand(...args: string[]) {
    if (!this.sentinelAdmin || this.sentinelAdmin.closed) {
      const { host, port } = this.sentinel!;
      this.sentinelAdmin = await connectAdmin({ host, port });
    }
    return this.sentinelAdmin.command(...args);
  }

  protected override async stopFirst(): Promise<void> {
    this.sentinelAdmin?.close();
    // The sentinel first, so that it does not see the nodes go and fail over.
    await this.sentinel?.stop();
  }
}
