import type { TokenManager } from "@redis-credentials/core";
import { assertInstrumentable, meterProviderOf } from "./check-arguments";
import type { InstrumentTokenManagerOptions } from "./instrument-token-manager-options";
import { subscribeToManager } from "./manager-subscription";
import { attach, detach } from "./meter-provider-registry";
import { RemainingLife } from "./remaining-life";
import type { TokenManagerInstrumentation } from "./token-manager-instrumentation";

/**
 * Records `manager`'s token lifecycle as OpenTelemetry metrics: fetch attempts by outcome
 * (`redis_credentials.token.refreshes`), their duration (`redis_credentials.token.fetch.duration`,
 * seconds), the held token's remaining life (`redis_credentials.token.remaining`, seconds),
 * expiries (`redis_credentials.token.expired`) and the adapters' re-AUTHs of live connections
 * (`redis_credentials.reauth`). It listens on the core's diagnostics channels, so it sees the
 * connections of every adapter bound to the manager. No attribute carries a token or user name.
 *
 * A manager can be instrumented once per meter provider at a time: a second call with the same
 * provider throws `InvalidOptionsError` (it would count everything twice).
 *
 * @example
 * const manager = createTokenManager(entraId({ credential }));
 * const metrics = instrumentTokenManager(manager); // after the OpenTelemetry SDK is started
 * // ...
 * metrics.dispose();
 * await manager.dispose();
 */
export function instrumentTokenManager(
  manager: TokenManager,
  options?: InstrumentTokenManagerOptions,
): TokenManagerInstrumentation {
  assertInstrumentable(manager);
  const provider = meterProviderOf(options);
  const life = new RemainingLife(manager);
  const instruments = attach(provider, life);
  const unsubscribe = subscribeToManager(instruments, life);
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    unsubscribe();
    detach(provider, manager);
  };
  return { dispose, [Symbol.dispose]: dispose };
}
