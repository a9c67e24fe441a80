import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { DefaultAzureCredential } from "@azure/identity";
import {
  assertKnownOptions,
  type CredentialSource,
  createCredentials,
  decodeJwtClaims,
  type FetchContext,
  InvalidOptionsError,
  InvalidTokenError,
  type JwtClaims,
  markPermanent,
  parseRetryAfter,
  type RedisCredentials,
  untilAborted,
} from "@redis-credentials/core";
import { classifyEntraIdError } from "./classify-error";
import { EntraIdError } from "./errors";
import type { RetryAfterRecorder } from "./retry-after-recorder";

/** The scope Azure Managed Redis and Azure Cache for Redis accept tokens for. */
export const REDIS_SCOPE = "https://redis.azure.com/.default";

export interface EntraIdOptions {
  /**
   * Any `@azure/identity` credential (`ManagedIdentityCredential`, `ClientSecretCredential`,
   * `WorkloadIdentityCredential`, your own `TokenCredential`, ...).
   * @default new DefaultAzureCredential()
   */
  credential?: TokenCredential;
  /**
   * What the token is for.
   * @default 'https://redis.azure.com/.default'
   */
  scopes?: string | string[];
  /**
   * The Redis user name. Azure's is the object id of the identity, which is the token's `oid`
   * claim; set this when the token has none, or is not a JWT.
   * @default the token's `oid` claim
   */
  username?: string;
  /** Passed to every `getToken` call (`tenantId`, `claims`, ...); the abort signal is the manager's. */
  getTokenOptions?: Omit<GetTokenOptions, "abortSignal">;
}

/**
 * A credential source for Microsoft Entra ID: tokens from an `@azure/identity` credential, as
 * Azure Managed Redis and Azure Cache for Redis want them (user name: the identity's object id;
 * password: the token). Pass it to `createTokenManager`.
 */
export function entraId(options: EntraIdOptions = {}): CredentialSource {
  return createEntraIdSource(options, undefined);
}

/** The options of `entraId()`; the convenience constructors add their own. */
export const entraIdOptionNames = ["credential", "scopes", "username", "getTokenOptions"] as const;

/** Names people reach for, and what they mean here. */
export const entraIdSuggestions: Readonly<Record<string, string>> = {
  scope: "the option is `scopes` (a string or an array).",
  resource: "pass the scope as `scopes` ('https://redis.azure.com/.default').",
  user: "the Redis user name is `username` (by default the token's `oid` claim).",
  clientId:
    "to pick a user-assigned managed identity use entraIdManagedIdentity({ clientId }); for an app registration, entraIdServicePrincipal({ tenantId, clientId, clientSecret }).",
  tenantId:
    "use entraIdServicePrincipal({ tenantId, ... }) or entraIdWorkloadIdentity({ tenantId }).",
};

/**
 * `entraId()`, and what the convenience constructors build on: `retryAfter` reads the
 * `Retry-After` of the credential's last refusal, for the credentials they create.
 */
export function createEntraIdSource(
  options: EntraIdOptions,
  retryAfter: RetryAfterRecorder | undefined,
): CredentialSource {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "must be an object when given.");
  }
  assertKnownOptions(options, entraIdOptionNames, entraIdSuggestions);
  if (
    options.getTokenOptions !== undefined &&
    (typeof options.getTokenOptions !== "object" || options.getTokenOptions === null)
  ) {
    throw new InvalidOptionsError("getTokenOptions", "must be an object when given.");
  }
  const scopes = validateScopes(options.scopes ?? REDIS_SCOPE);
  const username = validateUsername(options.username);
  const credential = options.credential ?? new DefaultAzureCredential();
  if (typeof (credential as Partial<TokenCredential>).getToken !== "function") {
    throw new InvalidOptionsError(
      "credential",
      "must be an @azure/identity TokenCredential (an object with a getToken method).",
    );
  }
  // A class name says which credential failed; a plain object's ("Object") says nothing.
  const className = credential.constructor?.name;
  const credentialName = className && className !== "Object" ? className : "TokenCredential";
  const name = `entra-id (${credentialName})`;

  return {
    name,
    async fetch({ signal }: FetchContext): Promise<RedisCredentials> {
      let token: AccessToken | null;
      try {
        token = await untilAborted(
          credential.getToken(scopes, { ...options.getTokenOptions, abortSignal: signal }),
          signal,
        );
      } catch (error) {
        // The manager aborted the attempt (timeout, dispose): it reports that itself.
        if (signal.aborted) throw error;
        throw describeFailure(error, credentialName, scopes, retryAfter?.retryAfterMs());
      }
      if (token === null || typeof token?.token !== "string" || token.token.length === 0) {
        throw new EntraIdError(
          `${credentialName}.getToken returned no token for ${scopes.join(" ")}.`,
          { code: undefined, retryable: true },
        );
      }
      return toCredentials(token, username, credentialName);
    },
  };
}

/** The credentials for an access token: `oid` as the user name, the earlier expiry of the two. */
function toCredentials(
  token: AccessToken,
  username: string | undefined,
  credentialName: string,
): RedisCredentials {
  let claims: JwtClaims | undefined;
  try {
    claims = decodeJwtClaims(token.token);
  } catch (error) {
    if (username === undefined) {
      throw markPermanent(
        new InvalidTokenError(
          `The token from ${credentialName} is not a JWT, so the Redis user name (its \`oid\` claim) cannot be read from it: pass \`username\` to entraId() (the object id of the identity, as added to the Redis cache's users).`,
          { cause: error },
        ),
      );
    }
  }
  const user = username ?? claims?.oid;
  if (typeof user !== "string" || user.length === 0) {
    throw markPermanent(
      new InvalidTokenError(
        `The token from ${credentialName} has no \`oid\` claim to use as the Redis user name: pass \`username\` to entraId() (the object id of the identity, as added to the Redis cache's users).`,
      ),
    );
  }
  const fromExp =
    typeof claims?.exp === "number" && Number.isFinite(claims.exp) ? claims.exp * 1000 : Infinity;
  const fromResponse = Number.isFinite(token.expiresOnTimestamp)
    ? token.expiresOnTimestamp
    : Infinity;
  const expiresAt = Math.min(fromResponse, fromExp);
  const refreshAt = token.refreshAfterTimestamp;
  return createCredentials({
    username: user,
    password: token.token,
    expiresAt,
    ...(typeof refreshAt === "number" && Number.isFinite(refreshAt) && refreshAt < expiresAt
      ? { refreshAt }
      : {}),
  });
}

function describeFailure(
  error: unknown,
  credentialName: string,
  scopes: string[],
  retryAfterMs: number | undefined,
): Error {
  if (error instanceof EntraIdError) return error;
  const info = classifyEntraIdError(error);
  const wait = retryAfterMs ?? retryAfterInResponse(error);
  const detail = firstLine(error);
  const answered = [info.code, info.status].filter((part) => part !== undefined).join(", ");
  return new EntraIdError(
    `${credentialName} could not get a token for ${scopes.join(" ")}${answered ? ` (${answered})` : ""}. ${info.hint}${detail ? ` Cause: ${detail}` : ""}`,
    {
      code: info.code,
      retryable: info.retryable,
      cause: error,
      ...(info.status !== undefined ? { status: info.status } : {}),
      ...(info.retryable && wait !== undefined ? { retryAfterMs: wait } : {}),
    },
  );
}

/**
 * `Retry-After` from an error that kept its HTTP response (`RestError`, as a custom
 * `TokenCredential` may throw), here or in its `cause` chain.
 */
function retryAfterInResponse(error: unknown): number | undefined {
  let current = error as { response?: { headers?: unknown }; cause?: unknown } | undefined;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const headers = current.response?.headers as
      | { get?: (name: string) => unknown; [name: string]: unknown }
      | undefined;
    if (typeof headers === "object" && headers !== null) {
      const value =
        typeof headers.get === "function"
          ? headers.get("retry-after")
          : Object.entries(headers).find(([name]) => name.toLowerCase() === "retry-after")?.[1];
      const wait = parseRetryAfter(value, Date.now());
      if (wait !== undefined) return wait;
    }
    current = current.cause as typeof current;
  }
  return undefined;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error ?? "");
  const line = message.split("\n")[0]?.trim() ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

function validateScopes(scopes: unknown): string[] {
  const list = typeof scopes === "string" ? [scopes] : scopes;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((scope) => typeof scope === "string" && scope.trim().length > 0)
  ) {
    throw new InvalidOptionsError(
      "scopes",
      `must be a non-empty string or array of strings; for Azure Redis use '${REDIS_SCOPE}'.`,
    );
  }
  return list as string[];
}

function validateUsername(username: unknown): string | undefined {
  if (username === undefined) return undefined;
  if (typeof username !== "string" || username.trim().length === 0) {
    throw new InvalidOptionsError(
      "username",
      "must be a non-empty string when given (the object id of the identity).",
    );
  }
  return username;
}
