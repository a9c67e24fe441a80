import type { TokenManager } from "@redis-credentials/core";
import { GlideClusterClient } from "@valkey/valkey-glide";
import { connectBound } from "./connect-bound";
import type { GlideClusterClientOptions } from "./glide-cluster-client-options";

/**
 * `GlideClusterClient.createClient(config)` with credentials from `manager`, as
 * `createGlideClient` does: one password update per client at each rotation re-authenticates
 * its connection to every node. GLIDE's management connections (one per node, for topology
 * checks) are not reached by it: see the package's documentation.
 */
export function createGlideClusterClient(
  manager: TokenManager,
  config: GlideClusterClientOptions,
): Promise<GlideClusterClient> {
  return connectBound(manager, config, "create a GLIDE cluster client", (glideConfig) =>
    GlideClusterClient.createClient(glideConfig),
  );
}
