import { parseRetryAfter } from "@redis-credentials/core";

/**
 * The wait a `GaxiosError` asks for: its `response.headers["retry-after"]` (a `Headers` in
 * gaxios 7, a plain object before), seconds or an HTTP-date taken relative to `now`, on the error
 * or in its `cause` chain (a `GoogleAuth` error may wrap the request's). `undefined` when none says.
 */
export function gaxiosRetryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  let current = error as { response?: { headers?: unknown }; cause?: unknown } | undefined;
  try {
    for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
      const wait = parseRetryAfter(headerOf(current.response?.headers), now);
      if (wait !== undefined) return wait;
      current = current.cause as typeof current;
    }
  } catch {
    // A getter that throws: no wait asked for.
  }
  return undefined;
}

function headerOf(headers: unknown): unknown {
  if (typeof headers !== "object" || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === "function") return get.call(headers, "retry-after") ?? undefined;
  return Object.entries(headers).find(([name]) => name.toLowerCase() === "retry-after")?.[1];
}
