import {
  abortReason,
  type CredentialSource,
  createCredentials,
  type FetchContext,
  type RedisCredentials,
  untilAborted,
} from "@redis-credentials/core";
import { GoogleAuth } from "google-auth-library";
import { classifyGcpIamError } from "./classify-error";
import { GcpIamError } from "./errors";
import {
  type GcpIamOptions,
  type GoogleAuthClient,
  type GoogleAuthLike,
  resolveOptions,
} from "./options";
import { describePrincipal } from "./principal";
import { gaxiosRetryAfterMs } from "./retry-after";
import { scrubRequestSecrets } from "./scrub-request-secrets";
import { redact, secretsOf } from "./secrets";
import { tokenExpiry } from "./token-expiry";

type AccessTokenAnswer = Awaited<ReturnType<GoogleAuthClient["getAccessToken"]>>;

/**
 * A credential source for IAM authentication to Google Cloud Memorystore (for Valkey, for Redis
 * Cluster): each fetch asks google-auth-library for an OAuth 2.0 access token, which is the
 * password of the user `default`. The library caches the token until shortly before it expires
 * and makes every network request; this source makes none of its own. Pass it to
 * `createTokenManager`.
 */
export function gcpIam(options?: GcpIamOptions): CredentialSource {
  const config = resolveOptions(options);
  const given = config.client;
  const googleAuth: GoogleAuthLike | undefined =
    given === undefined
      ? (config.googleAuth ?? new GoogleAuth({ scopes: [...config.scopes] }))
      : undefined;
  // Known before the first fetch, as the manager reads the name once: a client's principal, or
  // what will find one.
  const label =
    given !== undefined
      ? describePrincipal(given)
      : config.isDefaultAuth
        ? "Application Default Credentials"
        : "GoogleAuth";

  async function fetch({ signal }: FetchContext): Promise<RedisCredentials> {
    if (signal.aborted) throw abortReason(signal);
    let client = given;
    let answer: AccessTokenAnswer;
    try {
      // GoogleAuth caches the client it finds, and shares one search among concurrent callers.
      client ??= checkClient(
        await untilAborted(
          call(() => googleAuth!.getClient()),
          signal,
        ),
      );
      const resolved = client;
      answer = await untilAborted(
        call(() => resolved.getAccessToken()),
        signal,
      );
    } catch (error) {
      // The manager aborted the attempt (timeout, dispose): it reports that itself.
      if (signal.aborted) throw error;
      const principal = client === undefined ? label : describePrincipal(client);
      throw describeFailure(error, principal, client);
    }
    const token = (answer as { token?: unknown } | null | undefined)?.token;
    if (typeof token !== "string" || token.length === 0) {
      throw new GcpIamError(
        `google-auth-library returned no access token for ${describePrincipal(client)} (getAccessToken() resolved without \`token\`); retrying.`,
        { code: "NoToken", retryable: true },
      );
    }
    return createCredentials({
      username: config.username,
      password: token,
      expiresAt: tokenExpiry(client, answer, Date.now()),
    });
  }

  return Object.freeze({ name: `gcp-iam (${label})`, fetch });
}

/** `fn()` as a promise, a synchronous throw (from a custom client) included. */
function call<T>(fn: () => Promise<T>): Promise<T> {
  return Promise.resolve().then(fn);
}

function checkClient(client: unknown): GoogleAuthClient {
  if (
    typeof client === "object" &&
    client !== null &&
    typeof (client as Partial<GoogleAuthClient>).getAccessToken === "function"
  ) {
    return client as GoogleAuthClient;
  }
  throw new GcpIamError(
    "GoogleAuth#getClient() resolved to something that is not an AuthClient (it has no getAccessToken()): pass a GoogleAuth of google-auth-library, or the client itself, as `auth`.",
    { code: "ProviderError", retryable: false },
  );
}

function describeFailure(
  error: unknown,
  principal: string,
  client: GoogleAuthClient | undefined,
): Error {
  if (error instanceof GcpIamError) return error;
  const info = classifyGcpIamError(error);
  const secrets = secretsOf(client);
  scrubRequestSecrets(error, secrets);
  const answered = [info.code, info.status !== undefined ? `HTTP ${info.status}` : undefined]
    .filter((part) => part !== undefined)
    .join(", ");
  const line = firstLine(error);
  // The library's message is at times the bare code ("invalid_grant"): Google's words say more.
  const said =
    info.description && !line.includes(info.description) ? ` (${clip(info.description)})` : "";
  const cause = redact(`${line}${said}`, secrets);
  return new GcpIamError(
    `Could not get a Google access token as ${principal} (${answered}). ${info.hint}${cause ? ` Cause: ${sentence(cause)}` : ""}`,
    {
      code: info.code,
      retryable: info.retryable,
      cause: error,
      ...(info.status !== undefined ? { status: info.status } : {}),
      ...(info.retryable ? retryAfter(error) : {}),
    },
  );
}

function retryAfter(error: unknown): { retryAfterMs?: number } {
  const wait = gaxiosRetryAfterMs(error);
  return wait === undefined ? {} : { retryAfterMs: wait };
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function firstLine(error: unknown): string {
  let message: string;
  try {
    // By shape: an error from another realm (a VM context, a worker) is no `instanceof Error`.
    const text = (error as { message?: unknown } | null)?.message;
    message = typeof text === "string" ? text : String(error ?? "");
  } catch {
    message = "";
  }
  return clip(message.split("\n")[0]?.trim() ?? "");
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
