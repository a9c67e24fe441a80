import { CredentialsError } from "@redis-credentials/core";

/** Why `createCluster` gave up: see {@link ClusterNotReadyError}. */
export type ClusterNotReadyReason = "no-slots" | "timeout";

const explanations: Record<ClusterNotReadyReason, string> = {
  "no-slots":
    "the startup nodes' CLUSTER SLOTS reply was not a slot table naming a node for any slot. " +
    "Check that they are nodes of a Redis Cluster with its slots assigned (for a standalone server, use createRedis)",
  timeout:
    "no node answered CLUSTER SLOTS with a usable slot table, or the cluster's state stayed failed. " +
    "Check the startup nodes' addresses and the cluster's health",
};

/**
 * `createCluster`: the cluster did not become ready. `reason` says why: `"no-slots"` when the
 * startup nodes answered CLUSTER SLOTS with no slot table (not cluster nodes, or no slots
 * assigned); `"timeout"` when it was not ready within the bound. The cluster client was
 * disconnected; `cause` is the last error its nodes reported, where there was one.
 */
export class ClusterNotReadyError extends CredentialsError {
  override name = "ClusterNotReadyError";
  readonly reason: ClusterNotReadyReason;

  constructor(
    reason: ClusterNotReadyReason,
    startupNodes: string,
    options: { cause?: unknown; timeoutMs?: number } = {},
  ) {
    const when = reason === "timeout" ? ` within ${options.timeoutMs} ms` : "";
    super(
      `The cluster client for startup nodes ${startupNodes} did not become ready${when}: ${explanations[reason]}. ` +
        "The cluster client was disconnected.",
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.reason = reason;
  }
}
