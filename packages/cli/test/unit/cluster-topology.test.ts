import { describeSlots, fromShards, fromSlots } from "../../src/cluster-topology";
import { keySlot, roundTripKey } from "../../src/key-slot";
import { RespReader, type RespValue } from "../../src/resp";

const parsed = (bytes: string): RespValue[] => {
  const [value] = new RespReader().push(Buffer.from(bytes));
  if (value?.type !== "array") throw new Error("expected an array");
  return [...value.value];
};
const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
const node = (host: string, port: number, id: string) =>
  `*3\r\n${bulk(host)}:${port}\r\n${bulk(id)}`;

describe("fromSlots: the nodes of CLUSTER SLOTS", () => {
  test("masters with their ranges, replicas without; `?` and empty mean the seed", () => {
    const reply = parsed(
      `*3\r\n` +
        `*4\r\n:0\r\n:5460\r\n${node("10.0.0.1", 7000, "a")}${node("10.0.0.4", 7003, "d")}` +
        `*3\r\n:5461\r\n:10922\r\n${node("?", 7001, "b")}` +
        `*3\r\n:10923\r\n:16383\r\n${node("", 7002, "c")}`,
    );
    expect(fromSlots(reply, "seed.example.com")).toEqual([
      { host: "10.0.0.1", port: 7000, id: "a", role: "master", slots: [[0, 5460]] },
      { host: "10.0.0.4", port: 7003, id: "d", role: "replica", slots: [] },
      { host: "seed.example.com", port: 7001, id: "b", role: "master", slots: [[5461, 10922]] },
      { host: "seed.example.com", port: 7002, id: "c", role: "master", slots: [[10923, 16383]] },
    ]);
  });

  test("a master with several ranges is one node", () => {
    const reply = parsed(
      `*2\r\n*3\r\n:0\r\n:99\r\n${node("h", 1, "a")}*3\r\n:200\r\n:299\r\n${node("h", 1, "a")}`,
    );
    expect(fromSlots(reply, "seed")).toEqual([
      {
        host: "h",
        port: 1,
        id: "a",
        role: "master",
        slots: [
          [0, 99],
          [200, 299],
        ],
      },
    ]);
  });
});

describe("fromShards: the nodes of CLUSTER SHARDS (RESP2 maps as flat arrays)", () => {
  const shard = (slots: string, ...nodes: string[]) =>
    `*4\r\n${bulk("slots")}${slots}${bulk("nodes")}*${nodes.length}\r\n${nodes.join("")}`;
  const member = (fields: Record<string, string | number>) =>
    `*${Object.keys(fields).length * 2}\r\n${Object.entries(fields)
      .map(
        ([name, value]) => bulk(name) + (typeof value === "number" ? `:${value}\r\n` : bulk(value)),
      )
      .join("")}`;

  test("the endpoint, the TLS port with TLS, the role", () => {
    const reply = parsed(
      `*1\r\n${shard(
        "*4\r\n:0\r\n:10\r\n:20\r\n:30\r\n",
        member({
          id: "a",
          port: 6379,
          "tls-port": 6380,
          ip: "10.0.0.1",
          endpoint: "node-a.example.com",
          role: "master",
        }),
        member({ id: "b", port: 6379, ip: "10.0.0.2", endpoint: "?", role: "replica" }),
      )}`,
    );
    expect(fromShards(reply, "seed", true)).toEqual([
      {
        host: "node-a.example.com",
        port: 6380,
        id: "a",
        role: "master",
        slots: [
          [0, 10],
          [20, 30],
        ],
      },
      { host: "10.0.0.2", port: 6379, id: "b", role: "replica", slots: [] },
    ]);
    expect(fromShards(reply, "seed", false)[0]?.port).toBe(6379);
  });
});

describe("key slots", () => {
  test("Redis Cluster's hash slots, hash tags included", () => {
    // Values from CLUSTER KEYSLOT on a real server.
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("bar")).toBe(5061);
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    // The examples of the cluster specification: an empty tag hashes the whole key, and the tag
    // ends at the first `}` after the first `{`.
    expect(keySlot("foo{}{bar}")).not.toBe(keySlot("bar"));
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar"));
    expect(keySlot("foo{bar}{zap}")).toBe(keySlot("bar"));
  });

  test("a round-trip key lands in the slots asked for, and is random", () => {
    for (const range of [
      [0, 0],
      [16383, 16383],
      [5461, 10922],
    ] as const) {
      const key = roundTripKey([range]);
      expect(keySlot(key)).toBeGreaterThanOrEqual(range[0]);
      expect(keySlot(key)).toBeLessThanOrEqual(range[1]);
      expect(key).toMatch(/^redis-credentials:doctor:/);
    }
    expect(roundTripKey()).not.toBe(roundTripKey());
  });

  test("describeSlots", () => {
    expect(
      describeSlots([
        [0, 5460],
        [7, 7],
      ]),
    ).toBe("0-5460, 7");
  });
});
