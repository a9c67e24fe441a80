export { instrumentTokenManager } from "./instrument-token-manager";
export type { InstrumentTokenManagerOptions } from "./instrument-token-manager-options";
export { metricNames } from "./metric-names";
export type { TokenManagerInstrumentation } from "./token-manager-instrumentation";
