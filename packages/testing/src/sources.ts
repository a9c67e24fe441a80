import https from "node:https";
import {
  type Clock,
  type CredentialSource,
  CredentialsError,
  credentialsFromJwt,
  type FetchContext,
  type FetchReason,
  InvalidOptionsError,
  markPermanent,
  type RedisCredentials,
  realClock,
} from "@redis-credentials/core";
import type { IdentityEmulator } from "./identity-emulator";
import { recordingSecrets, recordSecret } from "./secret-recorder";

/** One call a token manager (or a test) made to a scripted source's `fetch`. */
export interface SourceCall {
  /** 1 for the first call. */
  readonly n: number;
  /** Why the caller fetched. */
  readonly reason: FetchReason;
  /** The source's clock time when `fetch` was called (epoch ms). */
  readonly at: number;
  /** The signal the caller passed; `signal.aborted` tells whether it gave up on this call. */
  readonly signal: AbortSignal;
}

/**
 * What one step answers: credentials (returned as they are, the same object each time), an
 * `Error` (thrown), or a function of the call returning credentials or a promise of them (a
 * function that throws fails the call).
 */
export type ScriptAnswer =
  | RedisCredentials
  | Error
  | ((call: SourceCall) => RedisCredentials | Promise<RedisCredentials>);

/**
 * Answer `answer` after `delayMs` on the source's clock. (Not `then`: an object with a `then`
 * method is a thenable, which `await` would call.)
 */
export interface DelayStep {
  readonly delayMs: number;
  readonly answer: ScriptAnswer;
  /**
   * Keep waiting when the caller aborts, as a source that ignores its signal does.
   * @default false: an abort rejects the call at once with the signal's reason
   */
  readonly ignoreAbort?: boolean;
}

/** Never answer, like an identity provider that accepted the connection and went silent. */
export interface HangStep {
  readonly hang: true;
  /**
   * Stay pending even when the caller aborts.
   * @default false: an abort rejects the call at once with the signal's reason
   */
  readonly ignoreAbort?: boolean;
}

/** One answer of a {@link scriptedSource}, used by one call to `fetch`. */
export type ScriptStep = ScriptAnswer | DelayStep | HangStep;

export interface ScriptedSourceOptions {
  /**
   * The clock delays run on and calls are timed with: pass the fake clock the code under test
   * uses.
   * @default the core's real clock
   */
  clock?: Clock;
  /**
   * The source's name, shown in the token manager's errors and events.
   * @default "scripted"
   */
  name?: string;
  /**
   * What calls after the last step get: `"throw"` fails each with a {@link ScriptExhaustedError}
   * (so an unexpected extra fetch shows in the test), `"repeat"` answers as the last step did.
   * Repeated credentials are the same token again, which a token manager does not count as a
   * refresh.
   * @default "throw"
   */
  afterLast?: "throw" | "repeat";
}

/** A credential source that answers from a script and records how it was called. */
export interface ScriptedSource extends CredentialSource {
  /** Every call so far, in order. */
  readonly calls: readonly SourceCall[];
}

/** A {@link scriptedSource} was called more times than its script has steps. */
export class ScriptExhaustedError extends CredentialsError {
  override name = "ScriptExhaustedError";
}

/**
 * A credential source for unit tests whose n-th `fetch` answers with the n-th step: credentials,
 * an error (thrown), a function of the call, `{ delayMs, answer }` (answers after a delay on
 * `options.clock`) or `{ hang: true }` (never answers). A pending delay or hang rejects with the
 * signal's reason as soon as the caller aborts, unless the step says `ignoreAbort: true`. After
 * the last step, calls fail with {@link ScriptExhaustedError}, or repeat the last step with
 * `afterLast: "repeat"`. The steps are copied: changing the array later changes nothing.
 *
 * @example
 * const clock = createFakeClock();
 * const source = scriptedSource(
 *   [
 *     { username: "app", password: "token-1", expiresAt: clock.now() + 60_000 },
 *     new Error("identity provider down"),
 *     { delayMs: 2_000, answer: (call) => ({ username: "app", password: "token-2", expiresAt: call.at + 62_000 }) },
 *   ],
 *   { clock },
 * );
 */
export function scriptedSource(
  steps: readonly ScriptStep[],
  options: ScriptedSourceOptions = {},
): ScriptedSource {
  const script = validateSteps(steps);
  const clock = options.clock ?? realClock;
  const name = options.name ?? "scripted";
  const afterLast = options.afterLast ?? "throw";
  if (afterLast !== "throw" && afterLast !== "repeat") {
    throw new InvalidOptionsError("afterLast", 'must be "throw" or "repeat".');
  }
  const calls: SourceCall[] = [];

  return {
    name,
    calls,
    fetch(context: FetchContext): Promise<RedisCredentials> {
      const call: SourceCall = {
        n: calls.length + 1,
        reason: context.reason,
        at: clock.now(),
        signal: context.signal,
      };
      calls.push(call);
      const step = script[call.n - 1] ?? (afterLast === "repeat" ? script.at(-1) : undefined);
      if (step === undefined) {
        return Promise.reject(
          new ScriptExhaustedError(
            `Scripted source "${name}" was called ${call.n} times but its script has ${script.length} step(s); add steps, or pass afterLast: "repeat".`,
          ),
        );
      }
      return run(step, call, clock);
    },
  };
}

function validateSteps(steps: readonly ScriptStep[]): ScriptStep[] {
  if (!Array.isArray(steps) || steps.length === 0) {
    throw new InvalidOptionsError("steps", "must be a non-empty array of steps.");
  }
  steps.forEach((step, i) => {
    if (typeof step === "function" || step instanceof Error) return;
    if (typeof step !== "object" || step === null) {
      throw new InvalidOptionsError(
        `steps[${i}]`,
        "must be credentials, an Error, a function, { delayMs, answer } or { hang: true }.",
      );
    }
    if ("delayMs" in step) {
      const { delayMs, answer } = step;
      if (typeof delayMs !== "number" || !(delayMs >= 0) || delayMs === Number.POSITIVE_INFINITY) {
        throw new InvalidOptionsError(`steps[${i}].delayMs`, "must be a finite number, 0 or more.");
      }
      if (typeof answer !== "function" && (typeof answer !== "object" || answer === null)) {
        throw new InvalidOptionsError(
          `steps[${i}].answer`,
          "must be credentials, an Error or a function.",
        );
      }
    } else if ("hang" in step && step.hang !== true) {
      throw new InvalidOptionsError(`steps[${i}].hang`, "must be true.");
    }
  });
  return [...steps];
}

async function run(step: ScriptStep, call: SourceCall, clock: Clock): Promise<RedisCredentials> {
  if (typeof step === "object" && !(step instanceof Error)) {
    if ("hang" in step) {
      await new Promise<never>((_resolve, reject) => {
        if (!step.ignoreAbort) onAbort(call.signal, reject);
      });
    }
    if ("delayMs" in step) {
      await delay(clock, step.delayMs, step.ignoreAbort ? undefined : call.signal);
      return respond(step.answer, call);
    }
  }
  return respond(step as ScriptAnswer, call);
}

async function respond(step: ScriptAnswer, call: SourceCall): Promise<RedisCredentials> {
  if (step instanceof Error) throw step;
  const answer = typeof step === "function" ? step(call) : step;
  if (recordingSecrets()) recordAnswer(answer);
  return answer;
}

/** Records the password the step answers with, without changing when or how it settles. */
function recordAnswer(answer: RedisCredentials | Promise<RedisCredentials>): void {
  if (answer instanceof Promise) {
    answer.then(recordAnswer, () => {});
    return;
  }
  recordSecret("scripted-password", (answer as Partial<RedisCredentials> | null)?.password);
}

function delay(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = signal
      ? onAbort(signal, (reason) => {
          clock.clearTimeout(handle);
          reject(reason);
        })
      : () => {};
    const handle = clock.setTimeout(() => {
      cleanup();
      resolve();
    }, ms);
  });
}

/** Calls `listener` with the signal's reason when it aborts (at once if it already has). */
function onAbort(signal: AbortSignal, listener: (reason: unknown) => void): () => void {
  if (signal.aborted) {
    queueMicrotask(() => listener(signal.reason));
    return () => {};
  }
  const handler = () => listener(signal.reason);
  signal.addEventListener("abort", handler, { once: true });
  return () => signal.removeEventListener("abort", handler);
}

/** The parts of an identity emulator that {@link emulatorSource} uses. */
export type EmulatorSourceIdentity = Pick<
  IdentityEmulator,
  "authorityHost" | "tenantId" | "ca" | "audience" | "issueToken"
>;

/** A client registered with the emulator: tokens come over HTTPS from its token endpoint. */
export interface EmulatorClientOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * The scope asked for.
   * @default `${idp.audience}/.default`
   */
  readonly scope?: string;
  /** @default "identity-emulator" */
  readonly name?: string;
}

/** Tokens for an object id, signed by the emulator directly (no HTTP, no faults). */
export interface EmulatorObjectOptions {
  readonly objectId: string;
  /**
   * Each token's lifetime.
   * @default the emulator's tokenLifetimeMs
   */
  readonly lifetimeMs?: number;
  /** @default "identity-emulator" */
  readonly name?: string;
}

/** The emulator's token endpoint refused a request; carries what it answered (never a token). */
export class EmulatorTokenError extends CredentialsError {
  override name = "EmulatorTokenError";
  /** The HTTP status (400, 401, 429, 503...). */
  readonly status: number;
  /** The OAuth error code (`invalid_client`, `temporarily_unavailable`...), when the body had one. */
  readonly error: string | undefined;
  /** The AADSTS error codes, when the body had them. */
  readonly errorCodes: readonly number[];
  /** The `Retry-After` header in seconds, on a throttled (429) answer. */
  readonly retryAfterSeconds: number | undefined;
  /** The same wait in milliseconds, which the token manager honours before its next attempt. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { status: number; error?: string; errorCodes?: number[]; retryAfterSeconds?: number },
  ) {
    super(message);
    this.status = details.status;
    this.error = details.error;
    this.errorCodes = details.errorCodes ?? [];
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.retryAfterMs =
      details.retryAfterSeconds === undefined ? undefined : details.retryAfterSeconds * 1_000;
  }
}

/**
 * A credential source backed by the identity emulator, for tests that want real signed tokens
 * (the token-enforcing Redis accepts them). With `{ clientId, clientSecret }` of a client
 * registered with `idp.registerClient`, every fetch asks the emulator's token endpoint over HTTPS
 * (client-credentials grant, trusting `idp.ca`), so the emulator's faults, latency and counters
 * apply. A refusal fails the fetch with an {@link EmulatorTokenError}; as the core asks of
 * sources, one no retry can fix (a 4xx other than 408 and 429: a wrong secret, an unknown client)
 * is marked permanent, so the token manager stops retrying, while 408, 429 and 5xx answers are
 * retried (use `faults.failNext(n, 503)` for a transient failure). With `{ objectId }` tokens come from
 * `idp.issueToken` directly. Either way the credentials are `credentialsFromJwt(token)`: the user
 * name is the token's `oid`, the expiry its `exp`.
 */
export function emulatorSource(
  idp: EmulatorSourceIdentity,
  options: EmulatorClientOptions | EmulatorObjectOptions,
): CredentialSource {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      "options",
      "must be an object: { objectId, lifetimeMs? } for a managed identity, or { clientId, clientSecret, scope? } for a service principal.",
    );
  }
  const name = options.name ?? "identity-emulator";
  if ("objectId" in options) {
    const { objectId, lifetimeMs } = options;
    if (typeof objectId !== "string" || objectId.length === 0) {
      throw new InvalidOptionsError("objectId", "must be a non-empty string.");
    }
    return {
      name,
      async fetch({ signal }) {
        signal.throwIfAborted();
        const token = idp.issueToken({ objectId, ...(lifetimeMs !== undefined && { lifetimeMs }) });
        return credentialsFromJwt(token);
      },
    };
  }
  const { clientId, clientSecret } = options;
  if (typeof clientId !== "string" || clientId.length === 0) {
    throw new InvalidOptionsError("clientId", "must be a non-empty string.");
  }
  if (typeof clientSecret !== "string" || clientSecret.length === 0) {
    throw new InvalidOptionsError("clientSecret", "must be a non-empty string.");
  }
  const scope = options.scope ?? `${idp.audience}/.default`;
  const url = new URL(`${idp.authorityHost.replace(/\/+$/, "")}/${idp.tenantId}/oauth2/v2.0/token`);
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: clientSecret,
    scope,
  }).toString();
  return {
    name,
    async fetch({ signal }) {
      const response = await postForm(url, body, idp.ca, signal);
      const json = parseJson(response.body);
      if (response.status !== 200) {
        const description =
          typeof json?.error_description === "string" ? json.error_description : "";
        const error = typeof json?.error === "string" ? json.error : undefined;
        const retryAfter = Number(response.headers["retry-after"]);
        const refusal = new EmulatorTokenError(
          `The identity emulator refused a token for client ${clientId}: HTTP ${response.status}${error ? ` ${error}` : ""}${description ? `: ${description.split(/\r?\n/)[0]}` : ""}`,
          {
            status: response.status,
            ...(error !== undefined && { error }),
            ...(Array.isArray(json?.error_codes) && { errorCodes: json.error_codes as number[] }),
            ...(Number.isFinite(retryAfter) && { retryAfterSeconds: retryAfter }),
          },
        );
        const transient =
          response.status >= 500 || response.status === 408 || response.status === 429;
        throw transient ? refusal : markPermanent(refusal);
      }
      if (typeof json?.access_token !== "string") {
        throw new EmulatorTokenError(
          "The identity emulator answered 200 without an access_token.",
          { status: response.status },
        );
      }
      return credentialsFromJwt(json.access_token);
    },
  };
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function postForm(url: URL, body: string, ca: string, signal: AbortSignal): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: "POST",
        ca,
        signal,
        // A fresh connection each time: an idle keep-alive socket would hold the test process open.
        agent: false,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          accept: "application/json",
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    request.on("error", (error) => reject(signal.aborted ? signal.reason : error));
    request.end(body);
  });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
