import { type ClusterNode, describeSlots } from "./cluster-topology";
import type { ObtainedCredentials } from "./credentials-step";
import type { DoctorStepName } from "./doctor-step";
import { hostPort, serverNameFor } from "./network-steps";
import { describeFailure, type RemedyContext } from "./remedies";
import { type ProbeSettings, ServerProbe } from "./server-probe";
import { StepFailure } from "./step-errors";
import { withTimeout } from "./with-timeout";

/** What checking one node found: its report line, and the remedy when it failed. */
interface NodeOutcome {
  readonly ok: boolean;
  readonly line: string;
  readonly remedy?: string;
}

export interface NodesCheck {
  readonly seed: ServerProbe;
  readonly settings: ProbeSettings;
  readonly credentials: ObtainedCredentials;
  readonly context: RemedyContext;
}

/**
 * The nodes step: every node the cluster announces, checked as the host given was (dns, tcp,
 * tls, auth, whoami, round trip: a write on a master, a PING on a replica), all at once, each
 * sub-step within the timeout. One line per node; fails when any node does.
 */
export async function checkNodes(check: NodesCheck, signal: AbortSignal): Promise<string> {
  const { nodes, from } = await check.seed.topology(signal);
  if (nodes.length === 0) {
    throw new StepFailure(
      `${from} announced no node`,
      "The cluster has no slots assigned: it is being created or is broken. Check its state in the cloud console (CLUSTER INFO).",
    );
  }
  const outcomes = await Promise.all(nodes.map((node) => checkNode(node, check)));
  const masters = nodes.filter((node) => node.role === "master").length;
  const failed = outcomes.filter((outcome) => !outcome.ok);
  const summary = `${nodes.length} node${nodes.length === 1 ? "" : "s"} from ${from} (${masters} master${masters === 1 ? "" : "s"}, ${nodes.length - masters} replica${nodes.length - masters === 1 ? "" : "s"}): ${nodes.length - failed.length} passed, ${failed.length} failed`;
  const detail = [summary, ...outcomes.map((outcome) => outcome.line)].join("\n");
  if (failed.length === 0) return detail;
  throw new StepFailure(
    detail,
    [
      "Every node the cluster announces must be reachable from here: a cluster client connects to each (Azure OSS cluster policy: the shard ports, 85xx, through the firewall and private endpoint; AWS: every node in the security group).",
      ...failed.map((outcome) => outcome.remedy),
    ].join("\n"),
  );
}

const subSteps = [
  "dns",
  "tcp",
  "tls",
  "auth",
  "whoami",
  "roundtrip",
] as const satisfies readonly DoctorStepName[];

/** The nodes step's own time limit, in timeouts: the topology, then each node's sub-steps (in parallel). */
export const NODES_TIMEOUTS = subSteps.length + 1;

async function checkNode(node: ClusterNode, check: NodesCheck): Promise<NodeOutcome> {
  const address = hostPort(node.host, node.port);
  const label = `${address} ${node.role}${node.slots.length > 0 ? ` (slots ${describeSlots(node.slots)})` : ""}`;
  // Nodes announced by IP address present the certificate of the cluster's name (Azure).
  const servername = serverNameFor(node.host) ?? check.seed.target.servername;
  const probe = new ServerProbe(
    { host: node.host, port: node.port, servername, slots: node.slots },
    check.settings,
  );
  const passed: string[] = [];
  try {
    for (const step of subSteps) {
      try {
        await withTimeout(check.context.timeoutMs, (signal) =>
          runSubStep(probe, step, check, signal),
        );
      } catch (error) {
        const context = { ...check.context, host: node.host, port: node.port, node: true };
        const failure = describeFailure(step, error, context);
        const before = passed.length > 0 ? ` (${passed.join(", ")} ok)` : "";
        return {
          ok: false,
          line: `${label}: FAILED at ${step}: ${failure.detail}${before}`,
          remedy: `${address}: ${failure.remedy}`,
        };
      }
      passed.push(step);
    }
    return { ok: true, line: `${label}: ok (${passed.join(", ")})` };
  } finally {
    probe.close();
  }
}

function runSubStep(
  probe: ServerProbe,
  step: (typeof subSteps)[number],
  check: NodesCheck,
  signal: AbortSignal,
): Promise<string> {
  switch (step) {
    case "dns":
      return probe.dns();
    case "tcp":
      return probe.tcp(signal);
    case "tls":
      return probe.tls(signal);
    case "auth":
      return probe.auth(check.credentials, signal);
    case "whoami":
      return probe.whoami(check.credentials.username, signal);
    case "roundtrip":
      return probe.roundtrip(signal);
  }
}
