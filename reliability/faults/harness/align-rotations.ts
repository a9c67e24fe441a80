import type { FaultClient } from "./fault-clients";

/** When the clients' next scheduled refreshes run and their current tokens expire (epoch ms). */
export interface AlignedRotations {
  readonly nextRefresh: { readonly earliest: number; readonly latest: number };
  readonly expiresAt: { readonly earliest: number; readonly latest: number };
}

/**
 * Forces a refresh of every client's manager at once, so that their next scheduled refreshes
 * land together (within the jitter window): a fault injected just before then hits every
 * client's refresh, with the whole life of a fresh token ahead.
 */
export async function alignRotations(clients: readonly FaultClient[]): Promise<AlignedRotations> {
  await Promise.all(clients.map((client) => client.manager.refresh()));
  const statuses = clients.map((client) => client.manager.status());
  const refreshes = statuses.map((status) => status.nextRefreshAt ?? Number.NaN);
  const expiries = statuses.map((status) => status.expiresAt ?? Number.NaN);
  return {
    nextRefresh: { earliest: Math.min(...refreshes), latest: Math.max(...refreshes) },
    expiresAt: { earliest: Math.min(...expiries), latest: Math.max(...expiries) },
  };
}

/** Resolves at `at` (epoch ms), at once if it has passed. */
export function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
