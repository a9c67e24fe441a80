import { parseRetryAfter } from "@redis-credentials/core";

/**
 * The wait an AWS SDK error asks for: service exceptions keep the HTTP response as `$response`
 * (`headers` a plain object with lower-case names), read here for `Retry-After` (seconds or an
 * HTTP-date, relative to `now`) or AWS's `x-amz-retry-after` (milliseconds), on the error or in
 * its `cause` chain. `undefined` when none says.
 */
export function awsRetryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  let current = error as { $response?: { headers?: unknown }; cause?: unknown } | undefined;
  try {
    for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
      const headers = current.$response?.headers;
      if (typeof headers === "object" && headers !== null) {
        const wait = fromHeaders(headers as Record<string, unknown>, now);
        if (wait !== undefined) return wait;
      }
      current = current.cause as typeof current;
    }
  } catch {
    // A getter that throws: no wait asked for.
  }
  return undefined;
}

function fromHeaders(headers: Record<string, unknown>, now: number): number | undefined {
  const header = (name: string) =>
    Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  const amz = header("x-amz-retry-after");
  if (typeof amz === "string" && /^\d+$/.test(amz.trim())) return Number(amz.trim());
  return parseRetryAfter(header("retry-after"), now);
}
