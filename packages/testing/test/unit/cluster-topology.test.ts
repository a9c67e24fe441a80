import {
  isHealthy,
  ownsSlot,
  parseClusterNodes,
  SLOT_COUNT,
  slotRanges,
  slotsReplyPorts,
  summarize,
} from "../../src/cluster-topology";
import { RespParser, type RespValue } from "../../src/resp";

// CLUSTER NODES as redis-server 7.0 writes it, seen from the second node.
const nodesText = [
  "df95c2c45ab726b9c2bf1f23095295ffdaaea568 127.0.0.1:18002@19002 master - 0 1795807013419 2 connected 8192-16383",
  "780e043ef5ae5b325b24a7fd5b3c2ecf933cbc2a 127.0.0.1:18003@19003 slave a9103eae4573ffafeddbd3b13532cc2dad38f4da 0 1795807013419 1 connected",
  "a9103eae4573ffafeddbd3b13532cc2dad38f4da 127.0.0.1:18001@19001 myself,master - 0 1795807013000 1 connected 0-8190 8191 [8191->-df95c2c45ab726b9c2bf1f23095295ffdaaea568]",
  "0b5a2a4b2e7f8e2f6c1a7d4f3b2a1c0d9e8f7a6b ::1:18004@19004,host.example fail? - 1795807013000 1795807013000 0 disconnected",
  "",
].join("\n");

describe("parseClusterNodes", () => {
  const [second, replica, myself, failing] = parseClusterNodes(nodesText);

  it("reads each node's id, announced address, role and slots", () => {
    expect(second).toEqual({
      id: "df95c2c45ab726b9c2bf1f23095295ffdaaea568",
      host: "127.0.0.1",
      port: 18002,
      busPort: 19002,
      flags: ["master"],
      role: "master",
      masterId: undefined,
      linkState: "connected",
      slots: [[8192, 16383]],
    });
    expect(replica).toMatchObject({ role: "replica", masterId: myself!.id, slots: [] });
  });

  it("reads single slots and leaves migration markers out", () => {
    expect(myself!.flags).toEqual(["myself", "master"]);
    expect(myself!.slots).toEqual([
      [0, 8190],
      [8191, 8191],
    ]);
    expect(ownsSlot(myself!, 8191)).toBe(true);
    expect(ownsSlot(myself!, 8192)).toBe(false);
  });

  it("reads IPv6 addresses with a hostname and tells unhealthy nodes", () => {
    expect(failing).toMatchObject({ host: "::1", port: 18004, busPort: 19004 });
    expect(isHealthy(failing!)).toBe(false);
    expect([second, replica, myself].every((entry) => isHealthy(entry!))).toBe(true);
  });
});

describe("summarize", () => {
  it("is the same for the same topology seen from different nodes", () => {
    const fromOther = nodesText
      .replace("myself,master", "master")
      .replace(" master - ", " myself,master - ");
    expect(summarize(parseClusterNodes(fromOther))).toBe(summarize(parseClusterNodes(nodesText)));
  });

  it("differs when a role changes", () => {
    const failedOver = nodesText.replace(" slave a9103", " master a9103");
    expect(summarize(parseClusterNodes(failedOver))).not.toBe(
      summarize(parseClusterNodes(nodesText)),
    );
  });
});

describe("slotRanges", () => {
  it("splits the slots evenly and completely, as redis-cli does", () => {
    expect(slotRanges(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);
    expect(slotRanges(1)).toEqual([[0, SLOT_COUNT - 1]]);
    const ranges = slotRanges(7);
    expect(ranges[0]![0]).toBe(0);
    expect(ranges[6]![1]).toBe(SLOT_COUNT - 1);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1);
  });
});

describe("slotsReplyPorts", () => {
  it("collects every master and replica port of a CLUSTER SLOTS reply", () => {
    let reply: RespValue | undefined;
    const parser = new RespParser((value) => {
      reply = value;
    });
    // *2 ranges: [0, 8191, master, replica], [8192, 16383, master]
    parser.push(
      Buffer.from(
        "*2\r\n" +
          "*4\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:18001\r\n$2\r\nid\r\n*3\r\n$9\r\n127.0.0.1\r\n:18003\r\n$2\r\nid\r\n" +
          "*3\r\n:8192\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:18002\r\n$2\r\nid\r\n",
      ),
    );
    expect([...slotsReplyPorts(reply!)].sort()).toEqual([18001, 18002, 18003]);
  });
});
