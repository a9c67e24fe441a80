import {
  createPublicKey,
  createSign,
  createVerify,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
} from "node:crypto";
import { promisify } from "node:util";
import type { JsonWebKey } from "./json-web-key";
import { recordSecret } from "./secret-recorder";

/** Why a token was refused; the token-enforcing Redis counts rejected AUTHs by this. */
export type TokenRejection =
  | "malformed"
  | "signature"
  | "expired"
  | "not-yet-valid"
  | "audience"
  | "user";

export type TokenVerification =
  | { readonly ok: true; readonly claims: TokenClaims }
  | { readonly ok: false; readonly reason: TokenRejection };

/** The claims an Entra ID access token carries (the ones this emulator issues). */
export interface TokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly oid: string;
  readonly sub: string;
  readonly tid: string;
  readonly appid: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly uti: string;
  readonly [claim: string]: unknown;
}

export interface IssueTokenOptions {
  /** The identity's object id: the Redis user name on Azure. */
  objectId: string;
  /** @default the issuer's tokenLifetimeMs */
  lifetimeMs?: number;
  /** @default the issuer's audience ('https://redis.azure.com') */
  audience?: string;
  /** Not valid before this instant (epoch ms). @default now */
  notBefore?: number;
  /** The application (client) id claim. @default the object id */
  appId?: string;
}

/** Signs Entra-shaped RS256 access tokens and verifies them; the emulator and the Redis share one. */
export interface TokenIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly tenantId: string;
  readonly tokenLifetimeMs: number;
  /** The public signing keys, as a JWKS document. */
  jwks(): { keys: JsonWebKey[] };
  issueToken(options: IssueTokenOptions): string;
  /** Checks signature, audience, validity window and (when given) that `user` is the `oid`. */
  verifyToken(token: string, options?: { user?: string; now?: number }): TokenVerification;
}

export const DEFAULT_AUDIENCE = "https://redis.azure.com";
export const DEFAULT_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const DEFAULT_TOKEN_LIFETIME_MS = 3_600_000;

export interface TokenIssuerOptions {
  issuer?: string;
  audience?: string;
  tenantId?: string;
  tokenLifetimeMs?: number;
}

interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const RSA_2048 = { modulusLength: 2048 } as const;

/**
 * Signs and verifies with an RSA key of its own, generated here, synchronously: 0.1–0.8 s during
 * which the event loop waits. Tests that already run clients should use the emulator's issuer
 * (`startIdentityEmulator()` generates its keys off the event loop).
 */
export function createTokenIssuer(options: TokenIssuerOptions = {}): TokenIssuer {
  return issuerWithKeys(options, generateKeyPairSync("rsa", RSA_2048));
}

/** {@link createTokenIssuer} with its key generated off the event loop. */
export async function startTokenIssuer(options: TokenIssuerOptions = {}): Promise<TokenIssuer> {
  return issuerWithKeys(options, await generateRsaKeyPair("rsa", RSA_2048));
}

const generateRsaKeyPair = promisify(generateKeyPair);

function issuerWithKeys(options: TokenIssuerOptions, keys: SigningKeys): TokenIssuer {
  const tenantId = options.tenantId ?? DEFAULT_TENANT_ID;
  const issuer = options.issuer ?? `https://sts.windows.net/${tenantId}/`;
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const tokenLifetimeMs = options.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS;
  const { privateKey, publicKey } = keys;
  const kid = randomBytes(12).toString("base64url");
  const publicJwk = { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" };

  return {
    issuer,
    audience,
    tenantId,
    tokenLifetimeMs,
    jwks: () => ({ keys: [publicJwk] }),
    issueToken(request) {
      const now = Date.now();
      const notBefore = request.notBefore ?? now;
      const lifetimeMs = request.lifetimeMs ?? tokenLifetimeMs;
      const claims: TokenClaims = {
        iss: issuer,
        aud: request.audience ?? audience,
        oid: request.objectId,
        sub: request.objectId,
        tid: tenantId,
        appid: request.appId ?? request.objectId,
        iat: Math.floor(now / 1000),
        nbf: Math.floor(notBefore / 1000),
        // Whole seconds, as Entra's: rounded so the usable life is within 500 ms of the request.
        exp: Math.round((now + lifetimeMs) / 1000),
        uti: randomBytes(16).toString("base64url"),
        ver: "1.0",
      };
      const token = signJwt({ alg: "RS256", typ: "JWT", kid }, claims, privateKey);
      recordSecret("entra-token", token);
      return token;
    },
    verifyToken(token, check = {}) {
      const now = check.now ?? Date.now();
      const parsed = parseJwt(token);
      if (parsed === undefined) return { ok: false, reason: "malformed" };
      if (parsed.header.alg !== "RS256" || !verifySignature(parsed, publicKey)) {
        return { ok: false, reason: "signature" };
      }
      const claims = parsed.claims as Partial<TokenClaims>;
      if (typeof claims.exp !== "number" || typeof claims.oid !== "string") {
        return { ok: false, reason: "malformed" };
      }
      if (claims.aud !== audience) return { ok: false, reason: "audience" };
      if (now >= claims.exp * 1000) return { ok: false, reason: "expired" };
      if (typeof claims.nbf === "number" && now < claims.nbf * 1000) {
        return { ok: false, reason: "not-yet-valid" };
      }
      if (check.user !== undefined && check.user !== claims.oid)
        return { ok: false, reason: "user" };
      return { ok: true, claims: claims as TokenClaims };
    },
  };
}

/** A fresh uuid for object ids and client ids. */
export const newId = (): string => randomUUID();

interface ParsedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function signJwt(
  header: object,
  claims: object,
  key: KeyObject,
  algorithm = "RSA-SHA256",
): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString("base64url");
  const signingInput = `${encode(header)}.${encode(claims)}`;
  const signature = createSign(algorithm).update(signingInput).sign(key).toString("base64url");
  return `${signingInput}.${signature}`;
}

export function parseJwt(token: string): ParsedJwt | undefined {
  if (typeof token !== "string") return undefined;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [header, claims, signature] = parts as [string, string, string];
  try {
    const parsed = {
      header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
      claims: JSON.parse(Buffer.from(claims, "base64url").toString("utf8")),
      signingInput: `${header}.${claims}`,
      signature: Buffer.from(signature, "base64url"),
    };
    if (typeof parsed.header !== "object" || parsed.header === null) return undefined;
    if (typeof parsed.claims !== "object" || parsed.claims === null) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

/** RS256 (and PS256, which MSAL uses for client assertions) signature check. */
export function verifySignature(parsed: ParsedJwt, key: KeyObject | string): boolean {
  const publicKey = typeof key === "string" ? createPublicKey(key) : key;
  try {
    if (parsed.header.alg === "PS256") {
      return createVerify("RSA-SHA256")
        .update(parsed.signingInput)
        .verify(
          { key: publicKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 },
          parsed.signature,
        );
    }
    return createVerify("RSA-SHA256")
      .update(parsed.signingInput)
      .verify(publicKey, parsed.signature);
  } catch {
    return false;
  }
}
