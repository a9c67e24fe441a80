import { parseRetryAfter } from "@redis-credentials/core";

/** The part of `@azure/core-rest-pipeline`'s response a policy reads here. */
interface PipelineResponseLike {
  status: number;
  headers: { get(name: string): string | undefined };
}

/** An `@azure/core-rest-pipeline` policy, typed by shape (this package does not depend on it). */
export interface RetryAfterPolicy {
  readonly name: string;
  sendRequest(
    request: unknown,
    next: (request: unknown) => Promise<PipelineResponseLike>,
  ): Promise<PipelineResponseLike>;
}

/**
 * Reads `Retry-After` off the token endpoint's refusals. `@azure/identity` drops the response
 * headers when it turns an HTTP error into `AuthenticationRequiredError` (no `response`, no
 * `cause`), so the header is caught on its way through the credential's HTTP pipeline, as an
 * additional policy of the credentials this package builds. The wait is kept as an instant: MSAL
 * itself then refuses further calls until it passes (its throttling cache), without a request
 * that would carry the header again.
 */
export function retryAfterRecorder(now: () => number = Date.now) {
  let until: number | undefined;
  const policy: RetryAfterPolicy = {
    name: "redisCredentialsRetryAfter",
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status === 429 || response.status >= 500) {
        const wait = parseRetryAfter(response.headers.get("retry-after"), now());
        if (wait !== undefined) until = now() + wait;
      } else if (response.status >= 200 && response.status < 300) {
        until = undefined;
      }
      return response;
    },
  };
  return {
    /** For a credential's `additionalPolicies`: after the retry policy, so it sees each answer. */
    additionalPolicy: { policy, position: "perRetry" as const },
    /** What is left of the last wait asked for, if any. */
    retryAfterMs(): number | undefined {
      if (until === undefined) return undefined;
      const left = until - now();
      return left > 0 ? left : undefined;
    },
  };
}

export type RetryAfterRecorder = ReturnType<typeof retryAfterRecorder>;
