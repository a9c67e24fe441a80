/**
 * Integration-test helpers that depend on no Redis client library, shared by the adapters' tests
 * and the end-to-end tests. What depends on a client (its options, its internals) stays in that
 * adapter's test folder.
 */
export {
  collectErrors,
  describeErrors,
  expectNoErrors,
  listenerCounts,
} from "./errors";
export {
  clusterOf,
  type Fixture,
  type FixtureOptions,
  fastRotation,
  fixturesBeforeAll,
  startFixture,
  TOKEN_LIFETIME_MS,
} from "./fixture";
export { runLoop } from "./loops";
export { report } from "./report";
export { runScript, runScriptAgainst } from "./run-script";
export { expectNoToken, printed, recordingSource } from "./secrets";
export {
  authsBetween,
  authsByConnection,
  connectionOf,
  connectionsOf,
  expectCleanServer,
  expiredAuths,
  rejectedAuths,
  type Snapshot,
  snapshot,
  untilAllHoldCurrentToken,
} from "./server";
export {
  acrossRotations,
  countingManager,
  ROTATIONS,
  TOKENS,
} from "./shared-manager";
export { keySlot, keysInEveryShard, tagsInEveryShard } from "./slots";
export {
  managerFor,
  otherIdentity,
  type SourceMode,
  type SwitchableSource,
  switchableSource,
  WRONG_USER,
} from "./sources";
export { longestStallMs, withStallNote } from "./stalls";
export { Users } from "./users";
export {
  afterRotations,
  countRotations,
  nextDelivery,
  nextRefresh,
  quietAfterRotation,
  rotations,
  SETTLE_MS,
  sleep,
  waitFor,
  within,
} from "./waiting";
