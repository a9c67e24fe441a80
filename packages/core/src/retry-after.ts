/**
 * What a credential source's error may carry when the identity provider said how long to wait
 * (HTTP 429 or 503 with `Retry-After`): the token manager's next attempt waits at least that long.
 * `CredentialSourceError` (and so `EntraIdError`, `AwsIamError`, `GcpIamError`) has the field; a
 * custom source can set it on any error it throws, or on one in that error's `cause` chain.
 */
export interface RetryAfter {
  /** Milliseconds the identity provider asked callers to wait before trying again. */
  readonly retryAfterMs?: number;
}

/** Cause chains are followed this deep, as with `isPermanent`. */
const MAX_DEPTH = 10;

/**
 * The wait an error asks for: the `retryAfterMs` of `error`, or of the first error in its `cause`
 * chain that has one, when it is a finite number of 0 or more; `undefined` otherwise (a missing,
 * negative, `NaN`, infinite or non-number value is ignored, never trusted).
 */
export function retryAfterOf(error: unknown): number | undefined {
  let current = error;
  try {
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      if (typeof current !== "object" || current === null) return undefined;
      const value = (current as RetryAfter).retryAfterMs;
      if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
      current = (current as { cause?: unknown }).cause;
    }
  } catch {
    // A revoked proxy, or a getter that throws: no wait asked for.
  }
  return undefined;
}

/** The longest wait read from a header: a year, beyond which the value is nonsense, not a wait. */
const MAX_RETRY_AFTER_MS = 365 * 24 * 60 * 60 * 1000;

/**
 * Reads an HTTP `Retry-After` header (RFC 9110 §10.2.3) as milliseconds to wait: delta-seconds
 * (`120`), or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`) taken relative to `now` (epoch ms,
 * the source's clock) and 0 when already past. An array (as Node gives repeated headers) is read
 * by its first value. Returns `undefined` for a missing or unreadable value.
 */
export function parseRetryAfter(header: unknown, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value === "number") return fromSeconds(value);
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return fromSeconds(Number(text));
  // An HTTP-date names its weekday and month; a bare number with a sign or a point is no date.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at) || !Number.isFinite(now)) return undefined;
  const wait = Math.max(0, at - now);
  return wait <= MAX_RETRY_AFTER_MS ? wait : undefined;
}

function fromSeconds(seconds: number): number | undefined {
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  const ms = seconds * 1000;
  return ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}
