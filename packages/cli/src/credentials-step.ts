import type { PreparedSource } from "./credential-source";
import type { StepResult } from "./network-steps";
import { StepFailure } from "./step-errors";
import { describeAwsToken, describeJwt, expiry } from "./token-claims";

/** The credentials the other steps authenticate with. The password never leaves the engine. */
export interface ObtainedCredentials {
  readonly username: string;
  readonly password: string;
  readonly expiresAt: number;
}

/**
 * The credentials step: one token from the source, described by who it is for (identity,
 * tenant, scope) and its non-secret claims (object id, audience, expiry).
 */
export async function obtainCredentials(
  prepared: PreparedSource,
  signal: AbortSignal,
): Promise<StepResult<ObtainedCredentials>> {
  const credentials = await prepared.source.fetch({ signal, reason: "initial" });
  const { username, password, expiresAt } = credentials;
  const now = Date.now();
  if (expiresAt <= now) {
    throw new StepFailure(
      `${prepared.identity}: the token it returned expired at ${expiry(expiresAt, now)}`,
      "Check this machine's clock (NTP): tokens carry their expiry as a time. A custom source must return a fresh token.",
    );
  }
  const principal = await prepared.principal?.(signal).catch(() => undefined);
  const claims = describeJwt(password, now) ?? describeAwsToken(password, now);
  const parts = [
    prepared.identity,
    principal,
    `Redis user ${username}`,
    claims !== undefined
      ? `token: ${claims}`
      : Number.isFinite(expiresAt)
        ? `token expires ${expiry(expiresAt, now)}`
        : undefined,
  ];
  return {
    detail: parts.filter((part) => part !== undefined).join("; "),
    value: { username, password, expiresAt },
  };
}
