import { inspect } from "node:util";
import {
  abortReason,
  type CredentialSource,
  createCredentials,
  type FetchContext,
  type RedisCredentials,
  untilAborted,
} from "@redis-credentials/core";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { classifyAwsIamError } from "./classify-error";
import { type ChainTrace, type DefaultChain, loadDefaultChain } from "./default-chain";
import { AwsIamError } from "./errors";
import { type AwsIamOptions, resolveOptions } from "./options";
import { awsRetryAfterMs } from "./retry-after";
import { signToken } from "./sign";

/**
 * Credentials this close to their expiry are asked for again with `forceRefresh` before signing:
 * a token capped at their expiry would barely outlive its delivery.
 */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * A credential source for IAM authentication to Amazon ElastiCache (Valkey 7.2+, Redis OSS 7.0+,
 * Serverless) and MemoryDB: each fetch asks the AWS credential provider for credentials (so
 * rotated role credentials are picked up) and signs a 15-minute token with them. The user name is
 * the user id. Pass it to `createTokenManager`; connect over TLS, which AWS requires.
 */
export function awsIam(options: AwsIamOptions): CredentialSource {
  const config = resolveOptions(options);
  const target = `${config.service}:${config.cacheName}`;
  const staticIdentity = typeof config.credentials === "object" ? config.credentials : undefined;
  const givenProvider = typeof config.credentials === "function" ? config.credentials : undefined;
  let defaultChain: Promise<DefaultChain> | undefined;

  const loadChain = (): Promise<DefaultChain> => {
    defaultChain ??= loadDefaultChain().catch((error: unknown) => {
      defaultChain = undefined; // an install can fix it: try again next time
      throw sdkMissing(error, target);
    });
    return defaultChain;
  };

  async function fetch({ signal, reason }: FetchContext): Promise<RedisCredentials> {
    throwIfAborted(signal);
    let chain: DefaultChain | undefined;
    let identity: AwsCredentialIdentity;
    try {
      if (staticIdentity !== undefined) {
        identity = staticIdentity;
      } else {
        let provider = givenProvider;
        if (provider === undefined) {
          chain = await untilAborted(loadChain(), signal);
          chain.reset();
          provider = chain.provider;
        }
        identity = await ask(provider, reason === "forced", signal);
        if (expiresWithin(identity, EXPIRY_MARGIN_MS)) {
          identity = await askAgain(provider, identity, signal);
        }
      }
    } catch (error) {
      // The manager aborted the attempt (timeout, dispose): it reports that itself.
      if (signal.aborted) throw abortReason(signal);
      throw describeFailure(error, target, chain?.trace());
    }
    if (expiresWithin(identity, 0)) {
      throw new AwsIamError(
        `The AWS credentials for ${target} expired at ${identity.expiration?.toISOString()}${staticIdentity ? ": pass a credential provider rather than temporary credentials, so that they can be renewed" : ", and asking the provider again brought no newer ones; retrying"}.`,
        { code: "CredentialsExpired", retryable: staticIdentity === undefined },
      );
    }

    const signingTime = Date.now();
    let token: string;
    try {
      token = await signToken(config, identity, signingTime);
    } catch (error) {
      throw new AwsIamError(
        redact(`Could not sign the IAM token for ${target}: ${firstLine(error)}`, identity),
        { code: "SigningFailed", retryable: true, cause: error },
      );
    }
    throwIfAborted(signal);
    // X-Amz-Date has whole seconds: the token is valid until that second plus its validity.
    const tokenExpiry = Math.floor(signingTime / 1000) * 1000 + config.expiresInSeconds * 1000;
    const expiresAt = Math.min(tokenExpiry, identity.expiration?.getTime() ?? Infinity);
    return createCredentials({ username: config.userId, password: token, expiresAt });
  }

  return Object.freeze({ name: `aws-iam(${target})`, fetch });
}

/** One call of the provider: `forceRefresh` makes the SDK's providers skip their cache. */
async function ask(
  provider: AwsCredentialIdentityProvider,
  forceRefresh: boolean,
  signal: AbortSignal,
): Promise<AwsCredentialIdentity> {
  const answer = await untilAborted(
    Promise.resolve().then(() => (forceRefresh ? provider({ forceRefresh: true }) : provider())),
    signal,
  );
  return checkIdentity(answer);
}

/**
 * Credentials that expire within the margin (the SDK's caches hand them out while they refresh in
 * the background): asked again with `forceRefresh`, keeping whichever lasts longer. A failure
 * here matters only when the ones held have expired.
 */
async function askAgain(
  provider: AwsCredentialIdentityProvider,
  held: AwsCredentialIdentity,
  signal: AbortSignal,
): Promise<AwsCredentialIdentity> {
  try {
    const fresh = await ask(provider, true, signal);
    const heldUntil = held.expiration?.getTime() ?? Infinity;
    const freshUntil = fresh.expiration?.getTime() ?? Infinity;
    return freshUntil > heldUntil ? fresh : held;
  } catch (error) {
    if (signal.aborted || expiresWithin(held, 0)) throw error;
    return held;
  }
}

function expiresWithin(identity: AwsCredentialIdentity, ms: number): boolean {
  return identity.expiration !== undefined && identity.expiration.getTime() - Date.now() <= ms;
}

/** What a provider returned, if it is an identity; never echoes a value. */
function checkIdentity(value: unknown): AwsCredentialIdentity {
  const identity = value as Partial<Record<keyof AwsCredentialIdentity, unknown>> | null;
  const problem =
    typeof identity !== "object" || identity === null
      ? `returned ${identity === null ? "null" : typeof identity}`
      : typeof identity.accessKeyId !== "string" || identity.accessKeyId.length === 0
        ? "returned no accessKeyId"
        : typeof identity.secretAccessKey !== "string" || identity.secretAccessKey.length === 0
          ? "returned no secretAccessKey"
          : identity.sessionToken !== undefined && typeof identity.sessionToken !== "string"
            ? "returned a sessionToken that is not a string"
            : identity.expiration !== undefined &&
                (!(identity.expiration instanceof Date) ||
                  Number.isNaN(identity.expiration.getTime()))
              ? "returned an expiration that is not a valid Date"
              : undefined;
  if (problem !== undefined) {
    throw new AwsIamError(
      `The AWS credential provider ${problem}: it must resolve to { accessKeyId, secretAccessKey, sessionToken?, expiration? }.`,
      { code: "InvalidCredentials", retryable: true },
    );
  }
  return value as AwsCredentialIdentity;
}

function describeFailure(error: unknown, target: string, trace: ChainTrace | undefined): Error {
  if (error instanceof AwsIamError) return error;
  const info = classifyAwsIamError(error, trace);
  const answered = [info.code, info.status !== undefined ? `HTTP ${info.status}` : undefined]
    .filter((part) => part !== undefined)
    .join(", ");
  const cause = firstLine(error);
  const tried =
    trace !== undefined && (info.code === "CredentialsNotFound" || info.code === "ProfileNotFound")
      ? summarize(trace.failures, cause)
      : "";
  return new AwsIamError(
    `Could not get AWS credentials to sign the IAM token for ${target} (${answered}). ${info.hint}${cause ? ` Cause: ${sentence(cause)}` : ""}${tried ? ` The credential chain tried: ${sentence(tried)}` : ""}`,
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
  const wait = awsRetryAfterMs(error);
  return wait === undefined ? {} : { retryAfterMs: wait };
}

function sdkMissing(error: unknown, target: string): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const missing =
    (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") &&
    /@aws-sdk\/credential-providers/.test(firstLine(error));
  return new AwsIamError(
    missing
      ? `Cannot sign the IAM token for ${target}: @aws-sdk/credential-providers, which provides the default credential chain, is not installed. Install it (npm install @aws-sdk/credential-providers), or pass \`credentials\` to awsIam().`
      : `Cannot sign the IAM token for ${target}: loading @aws-sdk/credential-providers failed: ${firstLine(error)}`,
    { code: missing ? "SdkNotInstalled" : "ProviderError", retryable: !missing, cause: error },
  );
}

/** The chain's reasons, one each, briefly, without the one already given as the cause. */
function summarize(failures: readonly string[], cause: string): string {
  const lines = failures.map((failure) => (failure.split("\n")[0] ?? "").trim().replace(/\.$/, ""));
  const unique = [...new Set(lines)].filter(
    (line) => line.length > 0 && line !== cause.replace(/\.$/, ""),
  );
  const text = unique.join("; ");
  return text.length > 800 ? `${text.slice(0, 800)}...` : text;
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function firstLine(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? error.message : describeNonError(error);
  } catch {
    message = "";
  }
  const line = message.split("\n")[0]?.trim() ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/** Keeps the secret parts of the credentials out of a message built from another's. */
function redact(text: string, identity: AwsCredentialIdentity): string {
  let result = text;
  for (const secret of [identity.secretAccessKey, identity.sessionToken]) {
    if (typeof secret === "string" && secret.length > 0)
      result = result.split(secret).join("[redacted]");
  }
  return result;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

/**
 * `a non-Error value: { code: 'CredentialsProviderError' }`, not `[object Object]`: its plain
 * fields, leaving out any whose name suggests a secret.
 */
function describeNonError(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "object") return String(value);
  const fields = Object.entries(value).filter(
    ([key, field]) =>
      !/secret|token|password|key|credential/i.test(key) &&
      (typeof field !== "object" || field === null) &&
      typeof field !== "function",
  );
  const shown = inspect(Object.fromEntries(fields), {
    breakLength: Number.POSITIVE_INFINITY,
    maxStringLength: 100,
  });
  return `a non-Error value: ${shown}`;
}
