import { InvalidOptionsError } from "@redis-credentials/core";
import type { AuthErrorReply, TokenVerifier, VerifierResult } from "./token-proxy";

/*
 * Google Cloud Memorystore (Redis Cluster, Valkey) IAM authentication, as the token-enforcing Redis
 * checks it. The AUTH user is `default`, the only one; the password a Google OAuth 2.0 access token
 * of a principal granted the connection role (`roles/memorystore.dbConnectionUser`,
 * `roles/redis.dbConnectionUser`). IAM checks the token only when a connection authenticates: an
 * authenticated connection keeps working after its token expires, and is valid for 12 hours after
 * that AUTH. IAM also limits how many new connections per second it authenticates; beyond that,
 * the AUTH is answered `-ERR_IAM_EXHAUSTED ...` instead of `+OK`, and the token is not looked at.
 *
 * The tokens are the identity emulator's (its metadata server hands them to google-auth-library):
 * this verifier asks the emulator whether a token is one of its own and unexpired, and adds
 * Memorystore's rules on top.
 */

/** Why an AUTH was refused in GCP mode; the token-enforcing Redis counts refusals by this. */
export type GcpTokenRejection =
  /** The AUTH user is not `default`, the only user Memorystore IAM authentication knows. */
  | "user"
  /** Not one of the identity emulator's access tokens. */
  | "malformed"
  /** Signed by another emulator, or changed after it was issued. */
  | "signature"
  /** Presented at or after its expiry. */
  | "expired"
  /** A valid token of a service account that is not in `principals` (not granted the role). */
  | "principal"
  /**
   * Over `newConnectionsPerSecond`: answered `-ERR_IAM_EXHAUSTED ...` rather than `WRONGPASS`, and
   * counted in `authErrorReplies` (and `iamExhausted`), not in `authRejected`.
   */
  | "iam-exhausted";

/** What a valid AUTH in GCP mode gives the connection. */
export interface GcpTokenClaims {
  /** The service account the token belongs to: the connection's user. */
  readonly oid: string;
  /** The token's expiry (epoch seconds): not the connection's deadline. */
  readonly exp: number;
  /** The connection lives this long after the AUTH (Memorystore: 12 hours), whatever `exp`. */
  readonly connectionLifetimeMs: number;
}

export type GcpTokenVerification =
  | { readonly ok: true; readonly claims: GcpTokenClaims }
  | { readonly ok: false; readonly reason: Exclude<GcpTokenRejection, "iam-exhausted"> }
  | { readonly ok: false; readonly reason: "iam-exhausted"; readonly errorReply: AuthErrorReply };

/** What issued the access tokens: the identity emulator, or anything that checks its tokens the same way. */
export interface GoogleTokenVerifier {
  /** `{ ok: true, claims }` whose `oid` is the token's service account, or why it is refused. */
  verifyGoogleAccessToken(token: string, options?: { now?: number }): VerifierResult;
}

/** The `gcp` option of `startTokenRedis`: Memorystore's IAM settings. */
export interface GcpOptions {
  /**
   * New connections IAM authenticates per wall-clock second, over every node of a cluster: every
   * AUTH (or HELLO ... AUTH) on a connection that has not authenticated yet counts, and those
   * beyond the limit get `-ERR_IAM_EXHAUSTED`. A positive integer. @default unlimited
   */
  newConnectionsPerSecond?: number | undefined;
  /**
   * The service accounts (emails) granted the connection role; a valid token of any other is
   * refused as `principal`. @default any service account
   */
  principals?: readonly string[] | undefined;
  /** How long a connection lives after its last successful AUTH. @default 43_200_000 (12 hours, as on Memorystore) */
  connectionLifetimeMs?: number | undefined;
}

export interface GcpVerifierOptions extends GcpOptions {
  /** Checks the access tokens: the identity emulator that issued them. */
  identity: GoogleTokenVerifier;
}

/** Checks AUTHs as Memorystore IAM authentication does; `startTokenRedis({ identity, gcp })` builds one. */
export interface GcpVerifier extends TokenVerifier {
  readonly newConnectionsPerSecond: number | undefined;
  readonly principals: readonly string[] | undefined;
  readonly connectionLifetimeMs: number;
  /**
   * Checks an AUTH: `user` is the AUTH user name (`default` when not given), `authenticated`
   * whether the connection has authenticated before (then the AUTH is not a new connection, and
   * the rate limit does not apply), `now` the time to check at (epoch ms).
   */
  verifyToken(
    token: string,
    options?: { user?: string; authenticated?: boolean; now?: number },
  ): GcpTokenVerification;
}

export const GCP_CONNECTION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** The error code Memorystore answers an AUTH with when IAM's quota of new connections is used up. */
export const IAM_EXHAUSTED = "ERR_IAM_EXHAUSTED";
const IAM_EXHAUSTED_REPLY: AuthErrorReply = {
  code: IAM_EXHAUSTED,
  message: "IAM authentication quota exceeded, retry with exponential backoff",
};

/** A verifier of Memorystore IAM authentication, over the tokens `identity` issued. */
export function createGcpVerifier(options: GcpVerifierOptions): GcpVerifier {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError(
      "options",
      "pass { identity, newConnectionsPerSecond?, principals?, connectionLifetimeMs? }",
    );
  }
  const { identity, ...gcp } = options;
  return buildGcpVerifier(gcp, identity, "");
}

/**
 * @internal `createGcpVerifier`, naming wrong options under `prefix` (`"gcp."` for
 * `startTokenRedis`, where `identity` is an option of its own).
 */
export function buildGcpVerifier(gcp: GcpOptions, identity: unknown, prefix: string): GcpVerifier {
  const config = validate(gcp, prefix);
  const tokens = googleTokenVerifier(identity);
  const principals =
    config.principals === undefined
      ? undefined
      : new Set(config.principals.map((principal) => principal.toLowerCase()));
  // One budget for every proxy that shares this verifier: the nodes of a cluster.
  const budget = { second: Number.NaN, used: 0 };
  const withinBudget = (now: number) => {
    if (config.newConnectionsPerSecond === undefined) return true;
    const second = Math.floor(now / 1000);
    if (second !== budget.second) {
      budget.second = second;
      budget.used = 0;
    }
    if (budget.used >= config.newConnectionsPerSecond) return false;
    budget.used++;
    return true;
  };

  const verifyToken: GcpVerifier["verifyToken"] = (token, check = {}) => {
    const now = check.now ?? Date.now();
    // Memorystore knows no other user: no IAM call is made for one.
    if ((check.user ?? "default") !== "default") return { ok: false, reason: "user" };
    if (check.authenticated !== true && !withinBudget(now)) {
      return { ok: false, reason: "iam-exhausted", errorReply: IAM_EXHAUSTED_REPLY };
    }
    const result = tokens.verifyGoogleAccessToken(token, { now });
    if (!result.ok) return { ok: false, reason: tokenRejection(result.reason) };
    const { oid, exp } = result.claims;
    if (principals !== undefined && !principals.has(oid.toLowerCase())) {
      return { ok: false, reason: "principal" };
    }
    return { ok: true, claims: { oid, exp, connectionLifetimeMs: config.connectionLifetimeMs } };
  };

  return {
    newConnectionsPerSecond: config.newConnectionsPerSecond,
    principals: config.principals,
    connectionLifetimeMs: config.connectionLifetimeMs,
    verifyToken,
  };
}

/** The emulator's reasons pass through; a verifier of one's own may have others: `malformed`. */
function tokenRejection(reason: string): "malformed" | "signature" | "expired" {
  return reason === "signature" || reason === "expired" ? reason : "malformed";
}

function googleTokenVerifier(identity: unknown): GoogleTokenVerifier {
  const verifier = identity as Partial<GoogleTokenVerifier> | undefined;
  if (typeof verifier?.verifyGoogleAccessToken !== "function") {
    throw new InvalidOptionsError(
      "identity",
      "must verify Google access tokens: pass the identity emulator (startIdentityEmulator()) whose metadata server issued them",
    );
  }
  // Called as a method: the emulator's own `this` stays bound either way.
  return {
    verifyGoogleAccessToken: (token, check) => verifier.verifyGoogleAccessToken!(token, check),
  };
}

interface GcpConfig {
  newConnectionsPerSecond: number | undefined;
  principals: readonly string[] | undefined;
  connectionLifetimeMs: number;
}

function validate(gcp: GcpOptions, prefix: string): GcpConfig {
  const name = (option: string) => `${prefix}${option}`;
  if (typeof gcp !== "object" || gcp === null) {
    throw new InvalidOptionsError(
      prefix ? prefix.slice(0, -1) : "options",
      "pass { newConnectionsPerSecond?, principals?, connectionLifetimeMs? }",
    );
  }
  const known = ["newConnectionsPerSecond", "principals", "connectionLifetimeMs"];
  for (const key of Object.keys(gcp)) {
    if (!known.includes(key)) {
      throw new InvalidOptionsError(name(key), `is not a GCP mode option (${known.join(", ")})`);
    }
  }
  const { newConnectionsPerSecond, principals } = gcp;
  if (
    newConnectionsPerSecond !== undefined &&
    (!Number.isInteger(newConnectionsPerSecond) || newConnectionsPerSecond < 1)
  ) {
    throw new InvalidOptionsError(
      name("newConnectionsPerSecond"),
      "must be a positive integer when given (omit it for no limit)",
    );
  }
  if (
    principals !== undefined &&
    (!Array.isArray(principals) ||
      principals.length === 0 ||
      !principals.every(
        (principal) => typeof principal === "string" && /^\S+@\S+$/.test(principal),
      ))
  ) {
    throw new InvalidOptionsError(
      name("principals"),
      "must be a non-empty array of service account emails when given (omit it to accept any)",
    );
  }
  const connectionLifetimeMs = gcp.connectionLifetimeMs ?? GCP_CONNECTION_LIFETIME_MS;
  if (
    typeof connectionLifetimeMs !== "number" ||
    !Number.isFinite(connectionLifetimeMs) ||
    connectionLifetimeMs <= 0
  ) {
    throw new InvalidOptionsError(
      name("connectionLifetimeMs"),
      "must be a positive number of milliseconds",
    );
  }
  return {
    newConnectionsPerSecond,
    principals: principals === undefined ? undefined : [...principals],
    connectionLifetimeMs,
  };
}
