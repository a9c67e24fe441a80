import type { FaultClient } from "../harness";
import type { UserAudit } from "./auth-audit";

/**
 * The closes at expiry a client may show, with the reason; 0 for every client but one.
 *
 * GLIDE's cluster client keeps a management connection per node (topology checks) that its
 * `updateConnectionPassword` does not reach, so the adapter cannot re-authenticate it: it stays on
 * the token it opened with and an Entra-style server closes it at that token's expiry (measured
 * and documented in docs/valkey-glide.md, "What a password update does not reach"). Such a
 * connection authenticated once, when it opened, with a token that was current (no AUTH of it is
 * refused: that is still checked), and no command fails for it (checked too). Every other close at
 * expiry — a connection the adapter did re-authenticate at least once and then let run out — still
 * fails the case.
 */
export function toleratedClosesAtExpiry(client: FaultClient, audit: UserAudit): number {
  if (client.adapter !== "valkey-glide" || client.topology !== "cluster") return 0;
  return audit.closedAtExpiryNeverReauthenticated;
}
