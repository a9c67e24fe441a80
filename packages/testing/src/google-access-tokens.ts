import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { recordSecret } from "./secret-recorder";

/*
 * The emulator's Google OAuth 2.0 access tokens. Google's are opaque (`ya29.` and a random-looking
 * string) and Memorystore asks IAM whether one is valid. Here the token carries its own claims and
 * an HMAC with a key only this emulator holds, so that checking one needs no table of the tokens
 * issued (a test that connects thousands of times keeps no memory of it):
 *
 *   ya29.<base64url(JSON { sub, scopes, iat, exp, jti })>.<base64url(HMAC-SHA256(key, "ya29.<claims>"))>
 *
 * Only characters Google's tokens use too (letters, digits, `-`, `_`, `.`), so no client escapes
 * or rejects it.
 */

/** Why a Google access token was refused. */
export type GoogleTokenRejection =
  /** Not a token of this shape: no `ya29.` prefix, claims that do not decode, missing claims. */
  | "malformed"
  /** Not signed by this emulator (another emulator's, or changed after issuing). */
  | "signature"
  /** Presented at or after its `exp`. */
  | "expired";

/** What a Google access token of the emulator says. */
export interface GoogleAccessTokenClaims {
  /** The service account the token belongs to (its email): the connection's user in GCP mode. */
  readonly oid: string;
  /** The same: the service account's email. */
  readonly sub: string;
  /** The OAuth scopes it was issued for. */
  readonly scopes: readonly string[];
  /** Issued at, epoch seconds (with milliseconds). */
  readonly iat: number;
  /** Expiry, epoch seconds (with milliseconds: a token lives exactly its lifetime). */
  readonly exp: number;
}

export type GoogleTokenVerification =
  | { readonly ok: true; readonly claims: GoogleAccessTokenClaims }
  | { readonly ok: false; readonly reason: GoogleTokenRejection };

/** The scope the metadata server's tokens carry unless the request names others. */
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

const PREFIX = "ya29.";

export interface GoogleTokenSigner {
  /** A token for `serviceAccount`, living `lifetimeMs` from `now` (epoch ms). */
  issue(request: {
    serviceAccount: string;
    lifetimeMs: number;
    scopes?: readonly string[] | undefined;
    now?: number | undefined;
  }): { token: string; claims: GoogleAccessTokenClaims };
  /** Checks the signature and the expiry at `now` (epoch ms). */
  verify(token: string, now?: number): GoogleTokenVerification;
}

/** Signs and verifies Google-shaped access tokens with a key of its own (one per emulator). */
export function createGoogleTokenSigner(): GoogleTokenSigner {
  const key = randomBytes(32);
  const mac = (signed: string) => createHmac("sha256", key).update(signed).digest();

  return {
    issue({ serviceAccount, lifetimeMs, scopes = [CLOUD_PLATFORM_SCOPE], now = Date.now() }) {
      const body = {
        sub: serviceAccount,
        scopes: [...scopes],
        iat: now / 1000,
        exp: (now + lifetimeMs) / 1000,
        // Two tokens issued in the same millisecond still differ, as Google's do.
        jti: randomBytes(9).toString("base64url"),
      };
      const signed = `${PREFIX}${Buffer.from(JSON.stringify(body)).toString("base64url")}`;
      const token = `${signed}.${mac(signed).toString("base64url")}`;
      recordSecret("google-access-token", token);
      const { jti: _, ...claims } = body;
      return { token, claims: { oid: serviceAccount, ...claims } };
    },
    verify(token, now = Date.now()) {
      if (typeof token !== "string" || !token.startsWith(PREFIX)) {
        return { ok: false, reason: "malformed" };
      }
      const dot = token.lastIndexOf(".");
      if (dot <= PREFIX.length) return { ok: false, reason: "malformed" };
      const signed = token.slice(0, dot);
      const body = parseBody(signed.slice(PREFIX.length));
      if (body === undefined) return { ok: false, reason: "malformed" };
      const given = Buffer.from(token.slice(dot + 1), "base64url");
      const expected = mac(signed);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return { ok: false, reason: "signature" };
      }
      if (now >= body.exp * 1000) return { ok: false, reason: "expired" };
      return {
        ok: true,
        claims: { oid: body.sub, sub: body.sub, scopes: body.scopes, iat: body.iat, exp: body.exp },
      };
    },
  };
}

/** The claims part, decoded and checked for shape; undefined when it is not one of ours. */
function parseBody(
  encoded: string,
): { sub: string; scopes: string[]; iat: number; exp: number } | undefined {
  if (!/^[\w-]+$/.test(encoded)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null) return undefined;
  const { sub, scopes, iat, exp } = body as Record<string, unknown>;
  if (typeof sub !== "string" || typeof iat !== "number" || typeof exp !== "number") {
    return undefined;
  }
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === "string")) {
    return undefined;
  }
  return { sub, scopes, iat, exp };
}
