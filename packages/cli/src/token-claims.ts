import { decodeJwtClaims, type JwtClaims } from "@redis-credentials/core";

/*
 * The non-secret parts of a token, for the credentials step: who it is for, for what, until
 * when. Never the token, nor its signature.
 */

/** A JWT's identifying claims (object id, tenant, app, audience, user, expiry), or undefined. */
export function describeJwt(token: string, now = Date.now()): string | undefined {
  let claims: JwtClaims;
  try {
    claims = decodeJwtClaims(token);
  } catch {
    return undefined;
  }
  const user = firstText(claims.upn, claims.unique_name, claims.preferred_username);
  const app = firstText(claims.appid, claims.azp);
  const audience = Array.isArray(claims.aud) ? claims.aud.join(" ") : text(claims.aud);
  const parts = [
    text(claims.oid) && `object id ${claims.oid}`,
    text(claims.tid) && `tenant ${claims.tid}`,
    app && `app ${app}`,
    user && `user ${user}`,
    audience && `audience ${audience}`,
    typeof claims.exp === "number" && `expires ${expiry(claims.exp * 1000, now)}`,
  ].filter((part): part is string => typeof part === "string" && part.length > 0);
  return parts.length > 0 ? parts.join(", ") : undefined;
}

/**
 * An ElastiCache / MemoryDB IAM token (a presigned URL without `http://`): the user, cache,
 * region, service, access key id and validity. Its signature and session token stay out.
 */
export function describeAwsToken(token: string, now = Date.now()): string | undefined {
  const query = token.indexOf("?");
  if (query < 0 || !token.includes("X-Amz-Signature=")) return undefined;
  const params = new URLSearchParams(token.slice(query + 1));
  const [keyId, , region, service] = (params.get("X-Amz-Credential") ?? "").split("/");
  const signedAt = parseAmzDate(params.get("X-Amz-Date"));
  const seconds = Number(params.get("X-Amz-Expires"));
  const until =
    signedAt !== undefined && Number.isFinite(seconds) ? signedAt + seconds * 1000 : undefined;
  const parts = [
    `user ${params.get("User") ?? "(none)"}`,
    `cache ${token.slice(0, token.search(/[/?]/))}`,
    params.get("ResourceType") && `resource type ${params.get("ResourceType")}`,
    `${service ?? "?"} in ${region ?? "?"}`,
    `signed with access key ${keyId ?? "?"}${params.has("X-Amz-Security-Token") ? " (temporary credentials: with a session token)" : ""}`,
    until !== undefined && `valid ${seconds} s, until ${expiry(until, now)}`,
  ];
  return parts.filter((part) => typeof part === "string" && part.length > 0).join(", ");
}

/** `2026-03-01T12:00:00.000Z (in 59 min)`, or `(… ago)` for a past instant. */
export function expiry(atMs: number, now = Date.now()): string {
  if (!Number.isFinite(atMs)) return "never";
  const seconds = Math.abs(Math.round((atMs - now) / 1000));
  const span = seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`;
  return `${new Date(atMs).toISOString()} (${atMs >= now ? `in ${span}` : `${span} ago`})`;
}

function parseAmzDate(value: string | null): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? "");
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= 300 ? value : undefined;
}

function firstText(...values: unknown[]): string | undefined {
  return values.map(text).find((value) => value !== undefined);
}
