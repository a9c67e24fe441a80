import { version } from "../package.json";

/** The instrumentation scope of the meter: this package, at its version. */
export const SCOPE_NAME = "@redis-credentials/opentelemetry";
export const SCOPE_VERSION: string = version;
