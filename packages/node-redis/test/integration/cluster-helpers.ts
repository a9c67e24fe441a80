import type { TokenRedis } from "@redis-credentials/testing";
import type { CreateClusterOptions } from "../../src";

// What does not depend on the client library comes from @redis-credentials/test-helpers.
export {
  afterRotations,
  authsBetween,
  clusterOf,
  collectErrors,
  connectionsOf,
  countRotations,
  describeErrors,
  expectCleanServer,
  expectNoErrors,
  keySlot,
  keysInEveryShard,
  longestStallMs,
  quietAfterRotation,
  report,
  runLoop,
  SETTLE_MS,
  type Snapshot,
  snapshot,
  Users,
  untilAllHoldCurrentToken,
  waitFor,
  withStallNote,
} from "@redis-credentials/test-helpers";

/** `createCluster` options of any RESP version, modules and type mapping. */
export type AnyClusterOptions = CreateClusterOptions<any, any, any, any, any>;

/** node-redis socket options that reach the fixture: TLS trusting its CA when it has one. */
export function socketOptions(server: TokenRedis): {
  tls?: true;
  ca?: string;
} {
  return server.ca === undefined ? {} : { tls: true, ca: server.ca };
}

/**
 * `createCluster` options for the fixture's cluster: the seed node only (node-redis learns every
 * other node from CLUSTER SLOTS, which announces the proxies), TLS when the fixture has it,
 * `allowInsecureTransport` otherwise.
 */
export function clusterOptions(
  server: TokenRedis,
  extra: Partial<AnyClusterOptions> = {},
): AnyClusterOptions {
  const socket = socketOptions(server);
  return {
    ...extra,
    rootNodes: [{ socket: { host: server.host, port: server.port } }],
    defaults: { ...extra.defaults, socket: { ...socket, ...extra.defaults?.socket } },
    ...(socket.tls === undefined && { allowInsecureTransport: true }),
  };
}
