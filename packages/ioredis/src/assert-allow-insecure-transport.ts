import { InvalidOptionsError } from "@redis-credentials/core";

/**
 * Refuses an `allowInsecureTransport` that is neither a boolean nor absent: `"yes"` or `1` would
 * otherwise count as `false` (only `true` allows plaintext), leaving the caller puzzled by an
 * `InsecureTransportError` or, worse, believing a string `"false"` turned something off.
 */
export function assertAllowInsecureTransport(value: unknown, name: string): void {
  if (value === undefined || typeof value === "boolean") return;
  throw new InvalidOptionsError(
    name,
    `must be true or false, not ${typeof value === "string" ? JSON.stringify(value) : typeof value}.`,
  );
}
