import {
  createRejectionTracker,
  isCredentialsRejection,
  type SessionGroup,
} from "@redis-credentials/core";
import type { Cluster } from "ioredis";

/**
 * Turns refused credentials on a cluster into the standalone client's answer: one forced refresh,
 * then, if Redis refuses the fresh credentials too, one `CredentialsRejectedError` on the
 * cluster's `error` event. A cluster learns of a refusal only through the slot refresh failing
 * (`ClusterAllFailedError` with the node's WRONGPASS as `lastNodeError`): its node connections
 * are short-lived and never retry a handshake themselves, so no node session sees a second one.
 * `passwordRefusedIn` tells which password the refusal was of. Returns a function that stops
 * listening.
 */
export function reportClusterRefusals(
  cluster: Cluster,
  group: SessionGroup,
  passwordRefusedIn: (error: unknown) => string | undefined,
): () => void {
  const tracker = createRejectionTracker(group.manager, { clock: group.manager.clock });
  // Refusals that arrive while one is handled were made with credentials no newer than its own.
  let handling = false;
  const onError = (error: unknown) => {
    const refusal = (error as { lastNodeError?: unknown } | null)?.lastNodeError;
    if (handling || !isCredentialsRejection(refusal)) return;
    const current = group.current();
    const password = passwordRefusedIn(refusal);
    if (current === undefined || password === undefined) return;
    handling = true;
    group.reauthFailures += 1;
    tracker
      .rejected({ ...current, password }, refusal)
      .then((outcome) => {
        if (outcome.error !== undefined && cluster.listenerCount("error") > 0) {
          cluster.emit("error", outcome.error);
        }
      })
      .catch(() => {})
      .finally(() => {
        handling = false;
      });
  };
  const onReady = () => tracker.accepted();
  cluster.on("error", onError);
  cluster.on("ready", onReady);
  return () => {
    cluster.off("error", onError);
    cluster.off("ready", onReady);
  };
}
