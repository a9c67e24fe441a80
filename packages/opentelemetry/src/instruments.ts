import type { Counter, Histogram, Meter, ObservableGauge } from "@opentelemetry/api";
import { metricNames } from "./metric-names";

/** The instruments of one meter provider, shared by every manager instrumented on it. */
export interface Instruments {
  readonly refreshes: Counter;
  readonly fetchDuration: Histogram;
  readonly remaining: ObservableGauge;
  readonly expired: Counter;
  readonly reauth: Counter;
}

/**
 * Bucket boundaries in seconds for fetch durations: a token request takes from a few milliseconds
 * (a cached token) to the fetch timeout (10 s by default). The SDK's default boundaries are
 * meant for milliseconds and would put every fetch in the first bucket or two.
 */
export const FETCH_DURATION_BOUNDARIES = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

export function createInstruments(meter: Meter): Instruments {
  return {
    refreshes: meter.createCounter(metricNames.refreshes, {
      description:
        "Token fetch attempts answered, by outcome (success: new credentials, unchanged, failure), fetch reason and source.",
      unit: "{refresh}",
    }),
    fetchDuration: meter.createHistogram(metricNames.fetchDuration, {
      description: "How long each token fetch attempt took, by outcome, fetch reason and source.",
      unit: "s",
      advice: { explicitBucketBoundaries: FETCH_DURATION_BOUNDARIES },
    }),
    remaining: meter.createObservableGauge(metricNames.remaining, {
      description:
        "Remaining life of the credentials held, by source (0 once they lapsed; none before the first, nor for credentials that never expire).",
      unit: "s",
    }),
    expired: meter.createCounter(metricNames.expired, {
      description: "Times the credentials held lapsed with no replacement, by source.",
      unit: "{expiry}",
    }),
    reauth: meter.createCounter(metricNames.reauth, {
      description: "Re-AUTHs of live connections with new credentials, by outcome and source.",
      unit: "{reauth}",
    }),
  };
}
