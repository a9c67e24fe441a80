import { rmSync } from "node:fs";
import { InvalidOptionsError } from "@redis-credentials/core";
import { type AdminClient, connectAdmin } from "./admin-client";
import type { RedisProcess } from "./redis-process";
import type { ConnectionFilter, ConnectionStats, TokenProxy } from "./token-proxy";

/** A redis-server behind its token-enforcing proxy. */
export interface ProxiedNode {
  /** Its position in `nodes`. */
  readonly index: number;
  readonly server: RedisProcess;
  readonly proxy: TokenProxy;
  /** A connection to the server's own port; replaced when it closes. */
  admin: AdminClient | undefined;
}

/** What is still missing, or undefined when all is well. */
export type Check = () => Promise<string | undefined>;

const SETTLE_TIMEOUT_MS = 30_000;
const POLL_MS = 25;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a cluster and a sentinel-managed setup share: their proxied nodes, and pausing, resuming
 * and restarting one; the client connections of all; polling until a check passes; admin
 * commands on a node's own port; stopping everything.
 */
export abstract class NodeSet<N extends ProxiedNode> {
  readonly nodes: N[] = [];
  protected readonly paused = new Set<number>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private stopping: Promise<void> | undefined;

  constructor(
    protected readonly password: string,
    protected readonly filesDir: string,
  ) {}

  /** This setup's own error type (ClusterError, SentinelError). */
  protected abstract error(message: string): Error;

  /** What must stop before the nodes do (sentinel, so that it does not fail over meanwhile). */
  protected async stopFirst(): Promise<void> {}

  protected connections(): ConnectionStats[] {
    return this.nodes.flatMap(({ proxy }) => proxy.connections());
  }

  protected killConnections(filter?: ConnectionFilter): number {
    return this.nodes.reduce((total, { proxy }) => total + proxy.killConnections(filter), 0);
  }

  protected node(index: number): N {
    const node = this.nodes[index];
    if (!Number.isInteger(index) || node === undefined) {
      throw new InvalidOptionsError(
        "index",
        `there are nodes 0 to ${this.nodes.length - 1}, not ${index}`,
      );
    }
    return node;
  }

  protected async restartNode(index: number): Promise<void> {
    const node = this.node(index);
    this.paused.delete(index);
    node.admin?.close();
    await node.server.restart();
  }

  protected pauseNode(index: number, ms?: number): void {
    this.node(index).server.pause();
    this.paused.add(index);
    if (ms === undefined) return;
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      this.resumeNode(index);
    }, ms);
    this.resumeTimers.add(timer);
  }

  protected resumeNode(index: number): void {
    this.node(index).server.resume();
    this.paused.delete(index);
  }

  /** Polls `check` until it finds nothing missing; its errors count as "not yet". */
  protected async until(what: string, check: Check): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      let problem: string | undefined;
      try {
        problem = await check();
        if (problem === undefined) return;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
      if (this.stopping) throw this.error(`Stopped while waiting for ${what}`);
      if (Date.now() > deadline) {
        throw this.error(`Waited ${SETTLE_TIMEOUT_MS} ms for ${what}: ${problem}`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Runs an admin command on a node's own port, reconnecting after a restart or a CLIENT KILL. */
  protected async command(node: N, ...args: string[]) {
    if (!node.admin || node.admin.closed) {
      const { host, port } = node.server;
      node.admin = await connectAdmin({ host, port, password: this.password });
    }
    return node.admin.command(...args);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const timer of this.resumeTimers) clearTimeout(timer);
      await this.stopFirst();
      await Promise.all(
        this.nodes.map(async (node) => {
          node.admin?.close();
          await node.proxy.close();
          await node.server.stop();
        }),
      );
      rmSync(this.filesDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}
