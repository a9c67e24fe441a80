/** CRC16/XMODEM, the hash Redis Cluster slots keys with. */
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

/** The cluster slot of `key` (hash tags included). */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % 16384;
}

/**
 * `perShard` keys in each of the `shards` equal slices of the slot space (the fixture gives shard
 * `i` the i-th slice), named `prefix:n`.
 */
export function keysInEveryShard(prefix: string, shards: number, perShard: number): string[][] {
  const byShard: string[][] = Array.from({ length: shards }, () => []);
  for (let n = 0; byShard.some((keys) => keys.length < perShard); n++) {
    const key = `${prefix}:${n}`;
    const shard = Math.min(shards - 1, Math.floor((keySlot(key) * shards) / 16384));
    if (byShard[shard]!.length < perShard) byShard[shard]!.push(key);
  }
  return byShard;
}

/** One hash tag per shard of a cluster of `shards` equal slices (shard `i` serves the i-th). */
export function tagsInEveryShard(prefix: string, shards: number): string[] {
  const tags: (string | undefined)[] = Array.from({ length: shards }, () => undefined);
  for (let n = 0; tags.some((tag) => tag === undefined); n++) {
    const tag = `${prefix}:${n}`;
    const shard = Math.min(shards - 1, Math.floor((keySlot(tag) * shards) / 16384));
    tags[shard] ??= tag;
  }
  return tags as string[];
}
