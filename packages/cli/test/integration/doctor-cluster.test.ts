import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenCluster,
} from "@redis-credentials/testing";
import type { DoctorOptions } from "../../src/doctor-options";
import { runDoctor } from "../../src/run-doctor";
import { expectNoSecrets, outcomes, step } from "./doctor-helpers";

// --cluster against a real 3-master Redis Cluster behind enforcing proxies (TLS): the nodes
// step reads CLUSTER SLOTS and checks every node as it checked the host given, one line each.

const USER = "7c1c4a36-0000-4000-8000-0000000000c1";
let idp: IdentityEmulator;
let cluster: TokenCluster;
let token: string;

beforeAll(async () => {
  idp = await startIdentityEmulator();
  cluster = await startTokenRedis({ identity: idp, cluster: { masters: 3 } });
  token = idp.issueToken({ objectId: USER, lifetimeMs: 600_000 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  await idp?.stop();
});

const options = (overrides: Partial<DoctorOptions> = {}): DoctorOptions => ({
  host: cluster.host,
  port: cluster.port,
  ca: cluster.ca as string,
  cluster: true,
  credentials: { kind: "static", username: USER, password: token },
  ...overrides,
});

const SLOTS = ["0-5460", "5461-10922", "10923-16383"];

test("every node passes: one line per node, and the round trip writes in the seed's own slots", async () => {
  const report = await runDoctor(options());
  expect(outcomes(report)).toEqual({
    credentials: "ok",
    dns: "ok",
    tcp: "ok",
    tls: "ok",
    auth: "ok",
    whoami: "ok",
    roundtrip: "ok",
    nodes: "ok",
  });
  expect(step(report, "roundtrip").detail).toMatch(
    /the value read back matches, 1 key deleted \(a key in its slots 0-5460\)$/,
  );
  const lines = step(report, "nodes").detail.split("\n");
  expect(lines).toEqual([
    "3 nodes from CLUSTER SLOTS (3 masters, 0 replicas): 3 passed, 0 failed",
    ...cluster.nodes.map(
      (node, index) =>
        `127.0.0.1:${node.port} master (slots ${SLOTS[index]}): ok (dns, tcp, tls, auth, whoami, roundtrip)`,
    ),
  ]);
  expectNoSecrets(report, [token]);
});

test("a node that does not answer: its line says where it stopped, and the remedy names it", async () => {
  const down = cluster.nodes[2]!;
  cluster.pauseNode(2); // frozen: its proxy accepts and shakes hands, the server answers nothing
  try {
    const report = await runDoctor(options({ timeoutMs: 1_000 }));
    const nodes = step(report, "nodes");
    expect(nodes.ok).toBe(false);
    const lines = nodes.detail.split("\n");
    expect(lines[0]).toMatch(
      /^3 nodes from CLUSTER SLOTS \(3 masters, 0 replicas\): [0-2] passed, [1-3] failed$/,
    );
    expect(lines).toContain(
      `127.0.0.1:${down.port} master (slots 10923-16383): FAILED at auth: no answer within 1000 ms (--timeout-ms) (dns, tcp, tls ok)`,
    );
    expect(nodes.remedy).toMatch(/^Every node the cluster announces must be reachable from here/);
    expect(nodes.remedy).toContain(
      `127.0.0.1:${down.port}: The server did not answer AUTH within 1000 ms: it is down, overloaded, blocked by a long-running command, or failing over.`,
    );
    expect(report.ok).toBe(false);
    expectNoSecrets(report, [token]);
  } finally {
    cluster.resumeNode(2);
  }
});
