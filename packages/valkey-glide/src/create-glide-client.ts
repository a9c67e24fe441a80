import type { TokenManager } from "@redis-credentials/core";
import { GlideClient } from "@valkey/valkey-glide";
import { connectBound } from "./connect-bound";
import type { GlideClientOptions } from "./glide-client-options";

/**
 * `GlideClient.createClient(config)` with credentials from `manager`: it waits for the manager's
 * current credentials, creates the client with them, and hands every new credential to the
 * client with `updateConnectionPassword(password, true)` (re-authenticated now, and used by every
 * reconnect), staggered with the manager's other subscribers. Rejects with the typed error when
 * the first fetch fails, or when Redis refuses fresh credentials too; `close()` ends the binding.
 * Tokens go over TLS only (`useTLS: true`), unless `allowInsecureTransport`.
 */
export function createGlideClient(
  manager: TokenManager,
  config: GlideClientOptions,
): Promise<GlideClient> {
  return connectBound(manager, config, "create a GLIDE client", (glideConfig) =>
    GlideClient.createClient(glideConfig),
  );
}
