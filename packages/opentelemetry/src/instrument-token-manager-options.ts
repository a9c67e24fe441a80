import type { MeterProvider } from "@opentelemetry/api";

/** The options of `instrumentTokenManager`. */
export interface InstrumentTokenManagerOptions {
  /**
   * Where the instruments are created: the Node SDK's, or a `MeterProvider` of
   * `@opentelemetry/sdk-metrics`. The global one is read when `instrumentTokenManager` is
   * called, so call it after the SDK is started (before that the global one records nothing).
   * @default metrics.getMeterProvider() of `@opentelemetry/api`: the global meter provider
   */
  meterProvider?: MeterProvider | undefined;
}
