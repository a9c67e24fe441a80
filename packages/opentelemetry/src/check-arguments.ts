import { type MeterProvider, metrics } from "@opentelemetry/api";
import {
  assertKnownOptions,
  assertTokenManager,
  InvalidOptionsError,
  type TokenManager,
} from "@redis-credentials/core";

const knownOptions = ["meterProvider"];

/** Names people reach for, and what they mean here. */
const suggestions: Record<string, string> = {
  meter: "pass `meterProvider`: the provider the meter came from (its getMeter() is called here).",
  provider: "the option is `meterProvider`.",
  metricReader: "register the reader with a MeterProvider, and pass that as `meterProvider`.",
  reader: "register the reader with a MeterProvider, and pass that as `meterProvider`.",
};

/**
 * Refuses what is not a live token manager of this core release (`InvalidOptionsError` naming
 * `manager`; `ManagerDisposedError` for a disposed one).
 */
export function assertInstrumentable(manager: TokenManager): void {
  assertTokenManager(manager, "instrument a token manager");
  if (typeof manager.id !== "number" || typeof manager.clock?.now !== "function") {
    throw new InvalidOptionsError(
      "manager",
      "has no numeric `id` or no `clock`: it comes from an older @redis-credentials/core. Install the core release that goes with @redis-credentials/opentelemetry.",
    );
  }
}

/** The checked options' meter provider: the one given, or the global one. */
export function meterProviderOf(options: unknown): MeterProvider {
  if (options === undefined) return metrics.getMeterProvider();
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      "options",
      "must be an object such as { meterProvider }, or left out for the global meter provider.",
    );
  }
  assertKnownOptions(options, knownOptions, suggestions);
  const { meterProvider } = options as { meterProvider?: unknown };
  if (meterProvider === undefined) return metrics.getMeterProvider();
  if (typeof (meterProvider as MeterProvider | null)?.getMeter === "function") {
    return meterProvider as MeterProvider;
  }
  const isMeter = typeof (meterProvider as { createCounter?: unknown } | null)?.createCounter;
  throw new InvalidOptionsError(
    "meterProvider",
    isMeter === "function"
      ? "is a Meter: pass the MeterProvider it came from (its getMeter() is called here)."
      : "must be a MeterProvider (an object with getMeter()): the Node SDK's, or `new MeterProvider({ readers })` of @opentelemetry/sdk-metrics. Leave it out for the global one.",
  );
}
