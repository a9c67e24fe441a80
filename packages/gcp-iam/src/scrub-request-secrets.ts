import { REDACTED, redact } from "./secrets";

/** Headers that carry a credential: the source token of an impersonation, an API key, ... */
const secretHeader =
  /^(authorization|proxy-authorization|x-goog-api-key|x-goog-iam-authorization-token)$|secret|token/i;

/**
 * Removes what a library error carries of the request that failed, in place, along its causes:
 * gaxios redacts an assertion and a client secret in it, but not the refresh token of user
 * credentials nor the subject token of workload identity federation. Every request body goes, and
 * every credential header; known secrets (`secrets`) are cut out of the messages. The error is the
 * `cause` of a `GcpIamError`, which `util.inspect` prints in depth.
 */
export function scrubRequestSecrets(error: unknown, secrets: readonly string[]): void {
  const pending: unknown[] = [error];
  const seen = new Set<unknown>();
  while (pending.length > 0 && seen.size < 10) {
    const current = pending.shift();
    if (typeof current !== "object" || current === null || seen.has(current)) continue;
    seen.add(current);
    const e = current as {
      message?: unknown;
      config?: unknown;
      response?: { config?: unknown };
      cause?: unknown;
      error?: unknown;
    };
    pending.push(e.cause, e.error);
    attempt(() => scrubConfig(e.config));
    attempt(() => {
      if (typeof e.response === "object" && e.response !== null) scrubConfig(e.response.config);
    });
    attempt(() => {
      if (typeof e.message !== "string") return;
      const message = redact(e.message, secrets);
      if (message !== e.message) e.message = message;
    });
  }
}

/** A frozen or exotic error keeps what it has: the GcpIamError's own message is redacted anyway. */
function attempt(step: () => void): void {
  try {
    step();
  } catch {
    // nothing more can be removed here
  }
}

function scrubConfig(config: unknown): void {
  if (typeof config !== "object" || config === null) return;
  const request = config as Record<string, unknown>;
  for (const key of ["data", "body"]) {
    if (request[key] !== undefined && request[key] !== null) request[key] = REDACTED;
  }
  const headers = request.headers;
  if (typeof headers !== "object" || headers === null) return;
  const h = headers as {
    forEach?: unknown;
    set?: unknown;
  };
  if (typeof h.forEach === "function" && typeof h.set === "function") {
    const names: string[] = [];
    (h.forEach as (callback: (value: unknown, name: string) => void) => void).call(
      headers,
      (_value, name) => names.push(name),
    );
    for (const name of names) {
      if (secretHeader.test(name))
        (h.set as (n: string, v: string) => void).call(headers, name, REDACTED);
    }
    return;
  }
  const plain = headers as Record<string, unknown>;
  for (const name of Object.keys(plain)) {
    if (secretHeader.test(name)) plain[name] = REDACTED;
  }
}
