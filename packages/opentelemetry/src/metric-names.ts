/**
 * The names of the instruments `instrumentTokenManager` records, as OpenTelemetry names them.
 * A Prometheus backend renames them: dots become underscores, counters get `_total`, and most
 * exporters add the unit (`_seconds`); see the package's README.
 */
export const metricNames = {
  /** Counter, one per fetch attempt answered: `outcome`, `reason`, `source`. */
  refreshes: "redis_credentials.token.refreshes",
  /** Histogram, in seconds, of each fetch attempt: `outcome`, `reason`, `source`. */
  fetchDuration: "redis_credentials.token.fetch.duration",
  /** Observable gauge, in seconds: the held token's remaining life, by `source`. */
  remaining: "redis_credentials.token.remaining",
  /** Counter of held credentials lapsing with no replacement: `source`. */
  expired: "redis_credentials.token.expired",
  /** Counter of the adapters' re-AUTHs answered: `outcome`, `source`. */
  reauth: "redis_credentials.reauth",
} as const;
