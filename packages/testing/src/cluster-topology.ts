import type { RespValue } from "./resp";

/** One line of `CLUSTER NODES`: a node as one cluster member sees it. */
export interface ClusterNodeEntry {
  id: string;
  host: string;
  /** The port clients are told: the node's announced (proxy) port. */
  port: number;
  busPort: number;
  flags: string[];
  role: "master" | "replica";
  /** The master's id, for a replica. */
  masterId: string | undefined;
  linkState: string;
  /** Owned slot ranges, inclusive, in ascending order (migration markers left out). */
  slots: [number, number][];
}

/** Flags that mean a node is not (yet) a healthy member in the view of the one asked. */
const UNHEALTHY_FLAGS = ["fail", "fail?", "handshake", "noaddr"];

export const SLOT_COUNT = 16384;

/** Parses a `CLUSTER NODES` reply. */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  const entries: ClusterNodeEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(" ");
    if (fields.length < 8) continue;
    const [id, address, flagText, master, , , , linkState, ...slotFields] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      ...string[],
    ];
    // ip:port@cport[,hostname]; the ip may be IPv6, so split at the last colon.
    const [endpoint = ""] = address.split(",");
    const at = endpoint.lastIndexOf("@");
    const colon = endpoint.lastIndexOf(":", at);
    const flags = flagText.split(",");
    entries.push({
      id,
      host: endpoint.slice(0, colon),
      port: Number(endpoint.slice(colon + 1, at)),
      busPort: Number(endpoint.slice(at + 1)),
      flags,
      role: flags.includes("slave") ? "replica" : "master",
      masterId: master === "-" ? undefined : master,
      linkState,
      slots: slotFields.filter((slot) => !slot.startsWith("[")).map(parseSlotRange),
    });
  }
  return entries;
}

function parseSlotRange(text: string): [number, number] {
  const [start, end = start] = text.split("-");
  return [Number(start), Number(end)];
}

export function isHealthy(entry: ClusterNodeEntry): boolean {
  return (
    entry.linkState === "connected" && !entry.flags.some((flag) => UNHEALTHY_FLAGS.includes(flag))
  );
}

/** The slot ranges of `masters` shards: 16384 slots split evenly, in order, as redis-cli does. */
export function slotRanges(masters: number): [number, number][] {
  const ranges: [number, number][] = [];
  let first = 0;
  for (let shard = 0; shard < masters; shard++) {
    const last =
      shard === masters - 1 ? SLOT_COUNT - 1 : Math.round(((shard + 1) * SLOT_COUNT) / masters - 1);
    ranges.push([first, last]);
    first = last + 1;
  }
  return ranges;
}

/**
 * What every member must agree on: who is a member, at which address, in which role, serving
 * which slots. Two views with the same summary give clients the same CLUSTER SLOTS/SHARDS/NODES.
 */
export function summarize(view: readonly ClusterNodeEntry[]): string {
  return view
    .map((entry) =>
      [
        entry.id,
        `${entry.host}:${entry.port}@${entry.busPort}`,
        entry.role,
        entry.masterId ?? "-",
        entry.slots.map(([start, end]) => `${start}-${end}`).join(","),
      ].join(" "),
    )
    .sort()
    .join("\n");
}

export function ownsSlot(entry: ClusterNodeEntry, slot: number): boolean {
  return entry.slots.some(([start, end]) => start <= slot && slot <= end);
}

/** The ports of every node, master or replica, in a CLUSTER SLOTS reply. */
export function slotsReplyPorts(reply: RespValue): Set<number> {
  const ports = new Set<number>();
  if (reply.type !== "array") return ports;
  for (const range of reply.value) {
    if (range.type !== "array") continue;
    for (const node of range.value.slice(2)) {
      const port = node.type === "array" ? node.value[1] : undefined;
      if (port?.type === "integer") ports.add(Number(port.value));
    }
  }
  return ports;
}
