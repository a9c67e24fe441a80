import type { TokenManager } from "@redis-credentials/core";
import type { TokenRedis } from "@redis-credentials/testing";
import type { Ledger } from "../ledger";
import { expectReply, type Workload } from "../workload";

/** The clients of one adapter on one topology, and the loops that keep them busy. */
export interface Fleet {
  /** "ioredis standalone", "valkey-glide cluster"... */
  name: string;
  workloads: Workload[];
  /** Listeners on every client's emitters (0 for GLIDE, which has none). */
  listeners(): number;
  /**
   * After the outage past expiry: finds the clients that did not come back (a ping fails) and
   * makes them again, as the adapter's docs tell users to; returns how many it made again.
   */
  recover?(): Promise<number>;
  close(): Promise<void>;
}

export interface FleetContext {
  adapter: string;
  manager: TokenManager;
  server: TokenRedis;
  topology: "standalone" | "cluster";
  ledger: Ledger;
  /** Connections this fleet should open at the server, roughly. */
  budget: number;
}

/** What the key-value loops need of a client. */
export interface KvClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  incr(key: string): Promise<unknown>;
}

/** Each fleet publishes on a channel of its own (every subscriber of a server sees every channel it subscribed). */
export const channelOf = (fleet: string) => `soak:${fleet}:channel`;
/** Blocking pops wait this long (s): well inside the 1 s between a token's refresh and its expiry. */
export const BLOCK_SECONDS = 0.3;
/** Loops per fleet over its key-value clients. */
const KV_LOOPS = 3;

/**
 * Key-value loops over `clients()` in turn (a fleet may replace a client), each SET then GET
 * (checked) then INCR, keys of its own loop so no other loop's write can show up.
 */
export function kvWorkloads(fleet: string, clients: () => KvClient[]): Workload[] {
  let next = 0;
  return Array.from({ length: KV_LOOPS }, (_, loop) => ({
    fleet,
    kind: "set/get/incr",
    // Paced: the token-enforcing proxies run in this process too, and a saturated event loop
    // delays re-AUTHs past the 1 s margin of 2-second tokens.
    pauseMs: 25,
    async step(iteration: number) {
      const all = clients();
      const client = all[next++ % all.length]!;
      const key = `soak:${fleet}:${loop}:${iteration % 16}`;
      const value = String(iteration);
      expectReply("SET", await client.set(key, value), "OK");
      expectReply(`GET ${key}`, await client.get(key), value);
      await client.incr(`soak:${fleet}:{counter}${loop}`);
    },
  }));
}

/**
 * A MULTI/EXEC loop: `exec` runs SET key value, INCR counter in one transaction and returns the
 * two replies; the SET reply is checked (the INCR's value depends on restarts).
 */
export function transactionWorkload(
  fleet: string,
  exec: (key: string, value: string, counter: string) => Promise<unknown[] | null | undefined>,
): Workload {
  return {
    fleet,
    kind: "multi/exec",
    pauseMs: 50,
    async step(iteration: number) {
      const replies = await exec(`{soak-tx}${fleet}:k`, String(iteration), `{soak-tx}${fleet}:n`);
      if (!Array.isArray(replies) || replies.length !== 2) {
        throw new Error(`EXEC: expected 2 replies, got ${JSON.stringify(replies)}`);
      }
      expectReply("SET in MULTI", replies[0], "OK");
      if (!Number.isInteger(Number(replies[1]))) throw new Error(`INCR in MULTI: ${replies[1]}`);
    },
  };
}

/**
 * A blocking pop with a short timeout on its own connection, and a pusher on another: the pop
 * returns the pushed value or, timed out, nothing.
 */
export function blockingWorkloads(
  fleet: string,
  pop: (key: string, seconds: number) => Promise<unknown>,
  push: (key: string, value: string) => Promise<unknown>,
): Workload[] {
  const key = `soak:${fleet}:{list}`;
  return [
    { fleet, kind: "blpop", pauseMs: 1, step: () => pop(key, BLOCK_SECONDS) },
    {
      fleet,
      kind: "lpush",
      pauseMs: 100,
      step: (iteration) => push(key, String(iteration)),
    },
  ];
}

/** Publishes the next sequence number every 100 ms, recording when each PUBLISH was in flight. */
export function publishWorkload(
  fleet: string,
  ledger: Ledger,
  publish: (channel: string, message: string) => Promise<unknown>,
): Workload {
  const published = ledger.publishedBy(fleet);
  // Its own count, not the loop's iteration: the loops start again after the warm-up.
  let sequence = 0;
  return {
    fleet,
    kind: "publish",
    pauseMs: 100,
    async step() {
      const message = sequence++;
      const start = Date.now();
      await publish(channelOf(fleet), String(message));
      published.set(message, { start, end: Date.now() });
    },
  };
}

/** Sums `listenerCounts` over emitters. */
export function countListeners(
  emitters: { eventNames(): (string | symbol)[]; listenerCount(e: string | symbol): number }[],
): number {
  let total = 0;
  for (const emitter of emitters) {
    for (const name of emitter.eventNames()) total += emitter.listenerCount(name);
  }
  return total;
}

/** Runs `make` `count` times, `batch` at a time (hundreds of handshakes at once stall the loop). */
export async function inBatches<T>(count: number, batch: number, make: () => Promise<T>) {
  const made: T[] = [];
  for (let i = 0; i < count; i += batch) {
    made.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, make))));
  }
  return made;
}
