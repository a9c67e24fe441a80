import type { SlotRange } from "./key-slot";
import type { RedisConnection } from "./redis-connection";
import type { RespValue } from "./resp";
import { ReplyError } from "./step-errors";

/** One node a cluster announces: where clients connect to it, and what it serves. */
export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  readonly id: string;
  readonly role: "master" | "replica";
  readonly slots: readonly SlotRange[];
}

export interface ClusterTopology {
  readonly nodes: readonly ClusterNode[];
  /** The command that answered. */
  readonly from: "CLUSTER SLOTS" | "CLUSTER SHARDS";
}

/**
 * The nodes the cluster announces to clients: `CLUSTER SLOTS`, which every cluster answers, or
 * `CLUSTER SHARDS` where SLOTS is refused. An address announced as `?` or empty means "the one
 * you connected to": `seedHost`.
 */
export async function readTopology(
  connection: RedisConnection,
  seedHost: string,
  tls: boolean,
  signal: AbortSignal,
): Promise<ClusterTopology> {
  const slots = await connection.command(["CLUSTER", "SLOTS"], signal);
  if (slots.type === "array")
    return { nodes: fromSlots(slots.value, seedHost), from: "CLUSTER SLOTS" };
  const shards = await connection.command(["CLUSTER", "SHARDS"], signal);
  if (shards.type === "array") {
    return { nodes: fromShards(shards.value, seedHost, tls), from: "CLUSTER SHARDS" };
  }
  throw new ReplyError(slots.type === "error" ? slots.value : "ERR CLUSTER SLOTS gave no array");
}

export function fromSlots(entries: readonly RespValue[], seedHost: string): ClusterNode[] {
  const nodes = new Map<string, { node: Omit<ClusterNode, "slots">; slots: SlotRange[] }>();
  for (const entry of entries) {
    if (entry.type !== "array") continue;
    const [start, end, ...servers] = entry.value;
    const range: SlotRange = [numberOf(start), numberOf(end)];
    servers.forEach((server, index) => {
      if (server.type !== "array") return;
      const [host, port, id] = server.value;
      const node = {
        host: announced(textOf(host), seedHost),
        port: numberOf(port),
        id: textOf(id),
        role: index === 0 ? ("master" as const) : ("replica" as const),
      };
      const key = `${node.host}:${node.port}`;
      const known = nodes.get(key) ?? { node, slots: [] };
      if (index === 0) known.slots.push(range);
      nodes.set(key, known);
    });
  }
  return [...nodes.values()].map(({ node, slots }) => ({ ...node, slots }));
}

export function fromShards(
  shards: readonly RespValue[],
  seedHost: string,
  tls: boolean,
): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const shard of shards) {
    const fields = fieldsOf(shard);
    const bounds = fields.get("slots");
    const numbers = bounds?.type === "array" ? bounds.value.map(numberOf) : [];
    const ranges: SlotRange[] = [];
    for (let i = 0; i + 1 < numbers.length; i += 2) ranges.push([numbers[i]!, numbers[i + 1]!]);
    const members = fields.get("nodes");
    for (const member of members?.type === "array" ? members.value : []) {
      const node = fieldsOf(member);
      const endpoint = textOf(node.get("endpoint"));
      const host = endpoint !== "" && endpoint !== "?" ? endpoint : textOf(node.get("ip"));
      const tlsPort = node.get("tls-port");
      const role = textOf(node.get("role")) === "master" ? "master" : "replica";
      nodes.push({
        host: announced(host, seedHost),
        port: numberOf(tls && tlsPort !== undefined ? tlsPort : node.get("port")),
        id: textOf(node.get("id")),
        role,
        slots: role === "master" ? ranges : [],
      });
    }
  }
  return nodes;
}

/** A RESP2 map: a flat array of alternating names and values. */
function fieldsOf(value: RespValue): Map<string, RespValue> {
  const fields = new Map<string, RespValue>();
  if (value.type !== "array") return fields;
  for (let i = 0; i + 1 < value.value.length; i += 2) {
    fields.set(textOf(value.value[i]), value.value[i + 1]!);
  }
  return fields;
}

function announced(host: string, seedHost: string): string {
  return host === "" || host === "?" ? seedHost : host;
}

function textOf(value: RespValue | undefined): string {
  return value?.type === "bulk" || value?.type === "simple" ? value.value : "";
}

function numberOf(value: RespValue | undefined): number {
  if (value?.type === "integer") return value.value;
  return Number(textOf(value));
}

/** `0-5460, 10923-16383`, for a report line. */
export function describeSlots(slots: readonly SlotRange[]): string {
  return slots.map(([start, end]) => (start === end ? `${start}` : `${start}-${end}`)).join(", ");
}
