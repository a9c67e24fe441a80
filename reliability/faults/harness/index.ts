/**
 * The fault suite's harness (README.md): an identity emulator and token-enforcing servers per
 * file, one client per adapter and topology with a manager of its own, a steady workload per
 * client, and the per-client report.
 */

export {
  ADAPTERS,
  type AdapterClient,
  type AdapterName,
  type AdapterSettings,
  connectAdapter,
} from "./adapters";
export { type AlignedRotations, alignRotations, sleepUntil } from "./align-rotations";
export { type CountingSource, countingSource, type FetchAttempt } from "./counting-source";
export {
  type FaultClient,
  type FaultClients,
  type StartClientsOptions,
  startClients,
} from "./fault-clients";
export {
  type AuthRecord,
  type FaultEnvironment,
  type FaultEnvironmentOptions,
  faultEnvironmentBeforeAll,
  startFaultEnvironment,
  TOPOLOGIES,
  type Topology,
} from "./fault-environment";
export { forEachClient, untilEveryClient } from "./for-each-client";
export {
  type CommandFailure,
  CommandHangError,
  errorType,
  findInCauses,
  reportWorkload,
  startWorkload,
  type Workload,
  type WorkloadOptions,
  type WorkloadReport,
} from "./workload";
