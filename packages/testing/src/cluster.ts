import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CredentialsError, InvalidOptionsError } from "@redis-credentials/core";
import { replyText } from "./admin-client";
import { createCertificateAuthority } from "./certificates";
import {
  type ClusterNode,
  type ReplicationTlsFiles,
  startClusterNode,
  writeReplicationTlsFiles,
} from "./cluster-node";
import {
  type ClusterNodeEntry,
  isHealthy,
  ownsSlot,
  parseClusterNodes,
  slotRanges,
  slotsReplyPorts,
  summarize,
} from "./cluster-topology";
import { NodeSet } from "./node-set";
import { ProxyStats } from "./token-proxy";
import type {
  ClusterOptions,
  IdentityTokenRedisOptions,
  TokenRedis,
  TokenRedisOptions,
} from "./token-redis-types";

/**
 * A Redis Cluster of token-enforcing nodes. `nodes` lists the masters first (node `i` starts as
 * the master of shard `i`, which serves the i-th slice of the slots), then the replicas, shard by
 * shard. Every address a client learns from the cluster (CLUSTER SLOTS/SHARDS/NODES, MOVED, ASK)
 * is one of `nodes`: an enforcing proxy. `restartNode` kills a node's redis-server and starts it
 * again as a crash would: without persistence, a restarted master comes back empty (and so do
 * its replicas, which sync from it); it resolves once the cluster has healed. A node paused
 * longer than the cluster's node timeout (2 s) is failed over automatically when it has a replica.
 */
export interface TokenCluster extends TokenRedis {
  /**
   * Promotes a replica of shard `shardIndex` with CLUSTER FAILOVER (FORCE when the shard's master
   * is paused) and resolves once every running node agrees it is the shard's master, the cluster
   * is ok everywhere and every replica is in sync.
   */
  failover(shardIndex: number): Promise<void>;
}

/** The cluster did not form, or did not settle after a failover or a restart, in time. */
export class ClusterError extends CredentialsError {
  override name = "ClusterError";
}

export const MAX_MASTERS = 64;
export const MAX_REPLICAS_PER_MASTER = 8;

/** Starts a Redis Cluster of token-enforcing nodes; `startTokenRedis({ cluster })` calls this. */
export async function startTokenCluster(options: IdentityTokenRedisOptions): Promise<TokenCluster> {
  const shape = validateCluster(options.cluster);
  const password = randomBytes(24).toString("hex");
  const stats = new ProxyStats();
  const authority = (options.tls ?? true) ? await createCertificateAuthority() : undefined;
  // Named as redis-process names its directories, so a crashed run's leftovers are swept too.
  const filesDir = mkdtempSync(join(tmpdir(), `redis-credentials-${process.pid}-cluster-`));
  const cluster = new Cluster(shape, password, stats, filesDir, authority?.ca);
  try {
    let tls: { key: string; cert: string; files?: ReplicationTlsFiles } | undefined;
    if (authority) {
      tls = await authority.issueServerCertificate();
      // Only replicas need them (and only they need a redis-server built with TLS).
      if (shape.replicasPerMaster > 0)
        tls.files = writeReplicationTlsFiles(filesDir, tls, authority.ca);
    }
    const total = shape.masters * (1 + shape.replicasPerMaster);
    const started = await Promise.allSettled(
      Array.from({ length: total }, (_, index) =>
        startClusterNode({
          index,
          password,
          identity: options.identity,
          stats,
          replication: shape.replicasPerMaster > 0,
          ...(tls ? { tls } : {}),
        }),
      ),
    );
    for (const result of started) {
      if (result.status === "fulfilled") cluster.nodes.push(result.value);
    }
    for (const result of started) if (result.status === "rejected") throw result.reason;
    await cluster.form();
    return cluster.handle();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

function validateCluster(cluster: TokenRedisOptions["cluster"]): Required<ClusterOptions> {
  if (typeof cluster !== "object" || cluster === null) {
    throw new InvalidOptionsError("cluster", "pass { masters, replicasPerMaster? }");
  }
  const { masters, replicasPerMaster = 0 } = cluster;
  if (!Number.isInteger(masters) || masters < 1 || masters > MAX_MASTERS) {
    throw new InvalidOptionsError("cluster.masters", `must be an integer from 1 to ${MAX_MASTERS}`);
  }
  if (
    !Number.isInteger(replicasPerMaster) ||
    replicasPerMaster < 0 ||
    replicasPerMaster > MAX_REPLICAS_PER_MASTER
  ) {
    throw new InvalidOptionsError(
      "cluster.replicasPerMaster",
      `must be an integer from 0 to ${MAX_REPLICAS_PER_MASTER}`,
    );
  }
  return { masters, replicasPerMaster };
}

/** What a settled cluster must also show (a failover's promoted node being master). */
type Expectation = (view: readonly ClusterNodeEntry[]) => string | undefined;

class Cluster extends NodeSet<ClusterNode> {
  private readonly ranges: [number, number][];

  constructor(
    private readonly shape: Required<ClusterOptions>,
    password: string,
    private readonly proxyStats: ProxyStats,
    filesDir: string,
    private readonly ca: string | undefined,
  ) {
    super(password, filesDir);
    this.ranges = slotRanges(shape.masters);
  }

  protected error(message: string): Error {
    return new ClusterError(message);
  }

  /** Joins the started nodes into one cluster and waits until every node sees all of it. */
  async form(): Promise<void> {
    const { masters, replicasPerMaster } = this.shape;
    // Everyone meets everyone: each node learns the others by handshake, not by gossip.
    const meets: Promise<unknown>[] = [];
    for (const a of this.nodes) {
      for (const b of this.nodes.slice(a.index + 1)) {
        const address = [String(b.server.port), String(b.busPort)];
        meets.push(this.command(a, "CLUSTER", "MEET", b.server.host, ...address));
      }
    }
    await Promise.all(meets);
    await Promise.all(
      this.ranges.map(([start, end], shard) =>
        this.command(this.nodes[shard]!, "CLUSTER", "ADDSLOTSRANGE", String(start), String(end)),
      ),
    );
    const masterOf = (node: ClusterNode) =>
      this.nodes[Math.floor((node.index - masters) / replicasPerMaster)]!;
    await Promise.all(
      this.nodes.slice(masters).map(async (replica) => {
        const master = masterOf(replica);
        // Refused until the replica has finished its handshake with the master.
        await this.until(`node ${replica.index} to replicate node ${master.index}`, async () => {
          await this.command(replica, "CLUSTER", "REPLICATE", master.id);
          return undefined;
        });
        await this.until(`node ${replica.index}'s replication link`, () =>
          this.linkProblem(replica),
        );
        // A first write moves the replication offset, so CLUSTER SLOTS lists the replica now.
        await this.command(master, "FLUSHALL");
      }),
    );
    await this.settle("the cluster to form", (view) => {
      for (const node of this.nodes) {
        const entry = view.find((candidate) => candidate.id === node.id);
        if (node.index < masters) {
          if (entry?.role !== "master") return `node ${node.index} is not a master yet`;
        } else if (entry?.masterId !== masterOf(node).id) {
          return `node ${node.index} does not replicate node ${masterOf(node).index} yet`;
        }
      }
      return undefined;
    });
  }

  handle(): TokenCluster {
    const seed = this.nodes[0]!.proxy;
    const stop = () => this.stop();
    return {
      host: seed.host,
      port: seed.port,
      nodes: this.nodes.map(({ proxy }) => ({ host: proxy.host, port: proxy.port })),
      ca: this.ca,
      // Replication runs through the proxies too, but they keep it out of all three.
      stats: () => this.proxyStats.snapshot(),
      connections: () => this.connections(),
      killConnections: (filter) => this.killConnections(filter),
      restartNode: (index = 0) => this.restartNode(index),
      pauseNode: (index = 0, ms) => this.pauseNode(index, ms),
      resumeNode: (index = 0) => this.resumeNode(index),
      failover: (shardIndex) => this.failover(shardIndex),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }

  protected override async restartNode(index: number): Promise<void> {
    await super.restartNode(index);
    await this.settle(`node ${index} to rejoin the cluster`);
  }

  private async failover(shardIndex: number) {
    const range = this.ranges[shardIndex];
    if (!Number.isInteger(shardIndex) || range === undefined) {
      throw new InvalidOptionsError(
        "shardIndex",
        `the cluster has shards 0 to ${this.ranges.length - 1}, not ${shardIndex}`,
      );
    }
    // Start from a cluster at rest: a node just resumed or restarted may still be rejoining.
    await this.settle(`the cluster to settle before the failover of shard ${shardIndex}`);
    const observer = this.nodes.find((node) => !this.paused.has(node.index));
    if (!observer) throw new ClusterError("Every node is paused");
    const view = parseClusterNodes(replyText(await this.command(observer, "CLUSTER", "NODES")));
    const master = view.find((entry) => entry.role === "master" && ownsSlot(entry, range[0]));
    const replica = this.nodes.find((node) => {
      const entry = view.find((candidate) => candidate.id === node.id);
      return (
        master !== undefined &&
        entry?.masterId === master.id &&
        isHealthy(entry) &&
        !this.paused.has(node.index)
      );
    });
    if (!master || !replica) {
      throw new ClusterError(`Shard ${shardIndex} has no running replica to promote`);
    }
    const masterNode = this.nodes.find((node) => node.id === master.id);
    // A hung master cannot take part in a manual failover: the replica takes over without it.
    const force = masterNode === undefined || this.paused.has(masterNode.index);
    await this.command(replica, "CLUSTER", "FAILOVER", ...(force ? ["FORCE"] : []));
    await this.settle(`the failover of shard ${shardIndex}`, (settled) => {
      const promoted = settled.find((entry) => entry.id === replica.id);
      if (promoted?.role === "master" && ownsSlot(promoted, range[0])) return undefined;
      return `node ${replica.index} is not the master of shard ${shardIndex} yet`;
    });
  }

  /**
   * Waits until every running node reports cluster_state:ok and the same healthy topology (every
   * node connected, at its proxy address, the same roles and slots), every replica's link is up
   * and listed in everyone's CLUSTER SLOTS, and `expectation` holds. Paused nodes are not asked,
   * and may look any way to the others.
   */
  private settle(what: string, expectation?: Expectation): Promise<void> {
    return this.until(what, () => this.problem(expectation));
  }

  private async problem(expectation?: Expectation): Promise<string | undefined> {
    const running = this.nodes.filter((node) => !this.paused.has(node.index));
    const views = await Promise.all(
      running.map(async (node) => {
        const [info, nodes] = await Promise.all([
          this.command(node, "CLUSTER", "INFO"),
          this.command(node, "CLUSTER", "NODES"),
        ]);
        return { node, info: replyText(info), view: parseClusterNodes(replyText(nodes)) };
      }),
    );
    let agreed: string | undefined;
    for (const { node, info, view } of views) {
      if (!/^cluster_state:ok\r?$/m.test(info)) return `node ${node.index} is not cluster_state:ok`;
      const problem = this.viewProblem(node, view) ?? expectation?.(view);
      if (problem) return problem;
      agreed ??= summarize(view);
      if (summarize(view) !== agreed) return `node ${node.index} sees another topology`;
    }
    const view = views[0]?.view ?? [];
    const replicas = running.filter((node) => {
      const master = view.find((entry) => entry.id === node.id)?.masterId;
      const masterNode = this.nodes.find((candidate) => candidate.id === master);
      return masterNode !== undefined && !this.paused.has(masterNode.index);
    });
    for (const replica of replicas) {
      const problem = await this.linkProblem(replica);
      if (problem) return problem;
    }
    // What clients read: those replicas next to their masters in everyone's CLUSTER SLOTS.
    for (const node of running) {
      const listed = slotsReplyPorts(await this.command(node, "CLUSTER", "SLOTS"));
      const missing = replicas.find((replica) => !listed.has(replica.proxy.port));
      if (missing) return `node ${node.index} does not list node ${missing.index} in CLUSTER SLOTS`;
    }
    return undefined;
  }

  /** What is wrong with one node's CLUSTER NODES: unknown, misplaced or unhealthy members, uncovered shards. */
  private viewProblem(observer: ClusterNode, view: readonly ClusterNodeEntry[]) {
    const where = `node ${observer.index}`;
    if (view.length !== this.nodes.length) return `${where} knows ${view.length} nodes`;
    for (const node of this.nodes) {
      const entry = view.find((candidate) => candidate.id === node.id);
      if (!entry) return `${where} does not know node ${node.index}`;
      if (entry.port !== node.proxy.port || entry.busPort !== node.busPort) {
        return `${where} sees node ${node.index} at ${entry.host}:${entry.port}@${entry.busPort}`;
      }
      if (!this.paused.has(node.index) && !isHealthy(entry)) {
        return `${where} sees node ${node.index} as ${entry.flags.join(",")} ${entry.linkState}`;
      }
    }
    for (const [shard, [start, end]] of this.ranges.entries()) {
      const owners = view.filter((entry) => entry.slots.some(([a, b]) => a === start && b === end));
      if (owners.length !== 1) return `${where} does not see shard ${shard} served by one master`;
    }
    return undefined;
  }

  private async linkProblem(replica: ClusterNode): Promise<string | undefined> {
    const info = replyText(await this.command(replica, "INFO", "replication"));
    if (/^master_link_status:up\r?$/m.test(info)) return undefined;
    return `node ${replica.index}'s replication link is not up`;
  }
}
