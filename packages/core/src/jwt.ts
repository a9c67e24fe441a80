import { assertKnownOptions } from "./assert-known-options";
import { createCredentials } from "./credentials";
import { InvalidOptionsError, InvalidTokenError } from "./errors";
import type { RedisCredentials } from "./types";

/** The claims of a JWT payload; the ones Entra ID, AWS and GCP tokens carry are typed. */
export interface JwtClaims {
  readonly [claim: string]: unknown;
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly sub?: string;
  readonly oid?: string;
  readonly tid?: string;
  readonly appid?: string;
  readonly exp?: number;
  readonly nbf?: number;
  readonly iat?: number;
}

const base64Url = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Reads a JWT's claims without verifying its signature (the Redis server verifies it). Throws
 * `InvalidTokenError` for anything that is not a well-formed JWT; the message never echoes the
 * token.
 */
export function decodeJwtClaims(token: string): JwtClaims {
  if (typeof token !== "string") {
    throw new InvalidTokenError(
      `Expected the token as a string, got ${token === null ? "null" : typeof token}.`,
    );
  }
  const segments = token.split(".");
  if (segments.length !== 3) {
    throw new InvalidTokenError(
      `The token is not a JWT: expected 3 dot-separated segments (header.payload.signature), found ${segments.length}.`,
    );
  }
  const [header, payload] = segments as [string, string, string];
  decodeSegment(header, "header");
  return decodeSegment(payload, "payload") as JwtClaims;
}

function decodeSegment(segment: string, part: "header" | "payload"): Record<string, unknown> {
  if (segment.length === 0 || !base64Url.test(segment)) {
    throw new InvalidTokenError(`The token's ${part} is not base64url-encoded.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    throw new InvalidTokenError(`The token's ${part} is not valid JSON once decoded.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidTokenError(`The token's ${part} must be a JSON object.`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Credentials for a JWT access token: the token is the password, `exp` gives the expiry, and the
 * user name is `username` when given, else the token's `oid` claim (Azure's rule).
 */
export function credentialsFromJwt(
  token: string,
  options?: { username?: string },
): RedisCredentials {
  if (options !== undefined) {
    if (typeof options !== "object" || options === null) {
      throw new InvalidOptionsError("options", "must be an object ({ username? }) when given.");
    }
    assertKnownOptions(options, ["username"], { user: "the user name is `username`." });
  }
  const explicit = options?.username;
  if (explicit !== undefined && (typeof explicit !== "string" || explicit.length === 0)) {
    throw new InvalidOptionsError("username", "must be a non-empty string when given.");
  }
  const claims = decodeJwtClaims(token);
  if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) {
    throw new InvalidTokenError("The token has no numeric `exp` claim, so its expiry is unknown.");
  }
  const username = explicit ?? claims.oid;
  if (typeof username !== "string" || username.length === 0) {
    throw new InvalidTokenError(
      "The token has no `oid` claim to use as the Redis user name: pass `username` explicitly (the object id of the identity, or the Redis user it is mapped to).",
    );
  }
  return createCredentials({ username, password: token, expiresAt: claims.exp * 1000 });
}
