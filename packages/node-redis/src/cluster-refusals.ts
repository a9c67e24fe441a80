import {
  createRejectionTracker,
  isCredentialsRejection,
  type TokenManager,
} from "@redis-credentials/core";
import { connectFailure } from "./node-redis-internals";

type Listener = (error: unknown) => void;

interface Emitter {
  on(event: string | symbol, listener: Listener): unknown;
  off(event: string | symbol, listener: Listener): unknown;
}

/** Keeps the cluster instance's own listener count above zero while ours come and go. */
const keepTable = Symbol("redis-credentials.keep-listener-table");
const kept = new WeakSet<object>();

/**
 * A cluster's `connect()`, answering refused credentials as a standalone client's does: the
 * first refusal forces one refresh and connects again; if Redis refuses the fresh credentials
 * too, rejects with `CredentialsRejectedError` (its cause node-redis's WRONGPASS reply) instead
 * of node-redis's `RootNodesUnavailableError`. node-redis discovers a cluster with short-lived
 * clients that never retry a handshake (`reconnectStrategy: false`), so no connection of the
 * provider sees a second one: the refusal is only seen on the cluster's `error` event.
 */
export async function connectRetryingRefusals(
  cluster: object,
  manager: TokenManager,
  connect: () => Promise<unknown>,
): Promise<unknown> {
  const tracker = createRejectionTracker(manager, { clock: manager.clock });
  for (;;) {
    const watch = watchRefusals(cluster);
    try {
      return await connect();
    } catch (error) {
      const refusal = watch.refusal;
      // What the refused handshakes presented: the first connect fetched them, and a connect
      // takes far less than a token's life, so they are still the manager's.
      const credentials = manager.peekCredentials();
      if (refusal === undefined || credentials === undefined || !connectFailure(error).noRootNode) {
        throw error;
      }
      const outcome = await tracker.rejected(credentials, refusal);
      if (outcome.error !== undefined) throw outcome.error;
    } finally {
      watch.stop();
    }
  }
}

/** Records the last refusal the cluster emits until `stop()`. */
function watchRefusals(cluster: object): { refusal: unknown; stop(): void } {
  // Listen on the instance (node-redis binds its emit to it), never dropping its count to zero:
  // an emitter whose own count does resets its listener table, which the proxies returned to
  // the user share (see listenForLife).
  const instance = ((cluster as { _self?: object })._self ?? cluster) as Emitter;
  if (!kept.has(instance)) {
    kept.add(instance);
    instance.on(keepTable, () => {});
  }
  const watch = {
    refusal: undefined as unknown,
    stop: () => instance.off("error", onError),
  };
  const onError: Listener = (error) => {
    if (isCredentialsRejection(error)) watch.refusal = error;
  };
  instance.on("error", onError);
  return watch;
}
