import type { FaultClient } from "../harness";

/*
 * The servers of the suite run without persistence, as the testing package starts them: a node
 * that restarts (killed, started again) comes back empty, and the writes it had acknowledged are
 * gone whatever the client did. The harness's read-back counts them as lost. This ledger sees
 * every SET the workload had acknowledged and what the read-back found, so that a case can tell
 * the writes the restart erased from writes a client lost: the workload writes one key at a time,
 * numbered in order, so on a node that restarted the erased writes are exactly the ones
 * acknowledged before the crash — a prefix of that node's keys. A missing key acknowledged after
 * one that survived on the same node was lost by the client, not by the crash.
 */

export interface WriteLedger {
  /** The client to hand the workload: the same client, its SETs and GETs recorded. */
  readonly client: FaultClient;
  /** Call right before the workload's stop(): what its read-back finds is what counts. */
  beginReadBack(): void;
  /**
   * Splits the acknowledged keys missing from the read-back. `restarted(key)`: whether the key
   * lives on a node that restarted. Keys the read-back could not read are left out.
   */
  classify(restarted: (key: string) => boolean): LossClassification;
}

export interface LossClassification {
  /** Missing keys on a restarted node, all acknowledged before every surviving key there. */
  erasedByRestart: number;
  /** When the last of those was acknowledged (epoch ms); undefined when none. */
  lastErasedAckAt: number | undefined;
  /** Every other missing or wrong key: acknowledged writes the client lost. */
  lost: string[];
}

export function writeLedger(client: FaultClient): WriteLedger {
  const acknowledged: { key: string; n: number; at: number }[] = [];
  const reads = new Map<string, unknown>();
  const recorded: FaultClient = {
    ...client,
    async set(key, value) {
      const result = await client.set(key, value);
      acknowledged.push({ key, n: Number(value), at: Date.now() });
      return result;
    },
    async get(key) {
      const value = await client.get(key);
      reads.set(key, value);
      return value;
    },
  };
  return {
    client: recorded,
    beginReadBack: () => reads.clear(),
    classify(restarted) {
      const verified = acknowledged.filter(({ key }) => reads.has(key));
      const missing = (entry: { key: string; n: number }) =>
        String(reads.get(entry.key)) !== String(entry.n);
      const onRestarted = verified.filter(({ key }) => restarted(key)).sort((a, b) => a.n - b.n);
      const firstSurvivor = onRestarted.findIndex((entry) => !missing(entry));
      const prefix = firstSurvivor === -1 ? onRestarted : onRestarted.slice(0, firstSurvivor);
      const erased = new Set(prefix.map(({ key }) => key));
      return {
        erasedByRestart: erased.size,
        lastErasedAckAt: prefix.at(-1)?.at,
        lost: verified
          .filter((entry) => !erased.has(entry.key) && missing(entry))
          .map(({ key }) => key),
      };
    },
  };
}
