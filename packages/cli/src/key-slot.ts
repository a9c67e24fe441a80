import { randomUUID } from "node:crypto";

/** Slots `start` to `end`, both included. */
export type SlotRange = readonly [start: number, end: number];

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** The hash slot of a key: of its `{tag}` when it has a non-empty one, as Redis Cluster computes it. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  return crc16(Buffer.from(hashed, "utf8")) % 16_384;
}

/**
 * A fresh key for the round trip: random, and with `ranges`, with a hash tag that puts it in one
 * of those slots (a node owns its keys only). Tags are tried in order, so this always ends: every
 * slot is some small number's.
 */
export function roundTripKey(ranges?: readonly SlotRange[]): string {
  const base = `redis-credentials:doctor:${randomUUID()}`;
  if (ranges === undefined) return base;
  for (let tag = 0; tag < 1_000_000; tag++) {
    const key = `${base}:{${tag}}`;
    const slot = keySlot(key);
    if (ranges.some(([start, end]) => slot >= start && slot <= end)) return key;
  }
  throw new Error("no key found for the node's slots");
}
