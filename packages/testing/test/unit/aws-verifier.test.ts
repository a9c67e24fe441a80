import { inspect } from "node:util";
import { InvalidOptionsError } from "@redis-credentials/core";
import {
  type AwsCredentials,
  type AwsService,
  type AwsVerifierOptions,
  createAwsVerifier,
} from "../../src/aws-verifier";
import { startTokenRedis } from "../../src/token-redis";
import type { TokenRedisOptions } from "../../src/token-redis-types";
import { formatToken as format, type PresignOptions, presign as sign } from "../aws-presign";

// Tokens are signed by the AWS SDK's own signer (@smithy/signature-v4), as an application signs
// them, and checked by the verifier, which recomputes SigV4 by hand: the two share no code.

const KEY: AwsCredentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const ROLE = {
  accessKeyId: "ASIAROLECREDENTIALS1",
  secretAccessKey: "role/secret+key=with/odd+characters",
  sessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+session/token==",
} satisfies AwsCredentials;
const BASE = {
  credentials: KEY,
  region: "us-east-1",
  cacheName: "my-cache",
  userId: "iam-user-01",
} satisfies AwsVerifierOptions;
const SIGNED_AT = new Date("2026-03-01T12:00:00Z");
const NOW = SIGNED_AT.getTime() + 1_000;

type SignOptions = Partial<PresignOptions>;

/** A token for BASE's cache, user and key, signed at SIGNED_AT, unless told otherwise. */
const presign = (options: SignOptions = {}) =>
  sign({ ...BASE, credentials: KEY, signingDate: SIGNED_AT, ...options });

/** The token's parameters, decoded, in their order. */
function paramsOf(token: string): [string, string][] {
  return token
    .slice(token.indexOf("?") + 1)
    .split("&")
    .map((pair) => pair.split("=").map(decodeURIComponent) as [string, string]);
}

/** The token with its parameters rebuilt (changed, reordered) but not re-signed. */
function rebuild(token: string, change: (params: [string, string][]) => [string, string][]) {
  const host = token.slice(0, token.indexOf("/"));
  return format(host, "/", Object.fromEntries(change(paramsOf(token))));
}

const withParam = (token: string, name: string, value: string) =>
  rebuild(token, (params) => params.map(([n, v]) => [n, n === name ? value : v]));

describe("createAwsVerifier: tokens signed by @smithy/signature-v4", () => {
  it.each<[string, Partial<AwsVerifierOptions>, SignOptions]>([
    ["ElastiCache", {}, {}],
    ["ElastiCache Serverless", { serverless: true }, { serverless: true }],
    ["MemoryDB", { service: "memorydb" }, { service: "memorydb" }],
    ["ElastiCache with a session token", { credentials: ROLE }, { credentials: ROLE }],
    [
      "ElastiCache Serverless with a session token",
      { credentials: ROLE, serverless: true },
      { credentials: ROLE, serverless: true },
    ],
    [
      "MemoryDB with a session token",
      { credentials: ROLE, service: "memorydb" },
      { credentials: ROLE, service: "memorydb" },
    ],
  ])("accepts %s", async (_, verifierOptions, signOptions) => {
    const verifier = createAwsVerifier({ ...BASE, ...verifierOptions });
    const token = await presign(signOptions);
    expect(token).toMatch(/^my-cache\/\?Action=connect&User=iam-user-01&/);
    expect(token).toContain(
      `X-Amz-Credential=${(signOptions.credentials ?? KEY).accessKeyId}%2F20260301%2Fus-east-1%2F${signOptions.service ?? "elasticache"}%2Faws4_request`,
    );
    const result = verifier.verifyToken(token, { user: BASE.userId, now: NOW });
    expect(result).toEqual({
      ok: true,
      claims: {
        oid: BASE.userId,
        userId: BASE.userId,
        accessKeyId: (signOptions.credentials ?? KEY).accessKeyId,
        sessionToken: signOptions.credentials === ROLE,
        cacheName: BASE.cacheName,
        region: BASE.region,
        service: (signOptions.service ?? "elasticache") as AwsService,
        serverless: signOptions.serverless ?? false,
        signedAt: SIGNED_AT.getTime(),
        expiresInSeconds: 900,
        exp: SIGNED_AT.getTime() / 1000 + 900,
        connectionLifetimeMs: 12 * 60 * 60 * 1000,
      },
    });
  });

  it("accepts the parameters in any order, and re-encoded", async () => {
    const verifier = createAwsVerifier({ ...BASE, credentials: ROLE });
    const token = await presign({ credentials: ROLE });
    const reversed = rebuild(token, (params) => [...params].reverse());
    const sorted = rebuild(token, (params) =>
      [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    // '/' and '=' left unencoded in the session token: the same value once decoded.
    const loose = token.replace(/X-Amz-Security-Token=[^&]+/, (pair) =>
      pair.replace(/%2F/g, "/").replace(/%3D/g, "="),
    );
    expect(loose).not.toBe(token);
    for (const variant of [reversed, sorted, loose]) {
      expect(verifier.verifyToken(variant, { user: BASE.userId, now: NOW }).ok).toBe(true);
    }
  });

  it("checks the token's User when no AUTH user name is given", async () => {
    const verifier = createAwsVerifier(BASE);
    expect(verifier.verifyToken(await presign(), { now: NOW }).ok).toBe(true);
  });

  it("accepts tokens from every configured key (rotated role credentials), and refuses the others", async () => {
    const next: AwsCredentials = {
      accessKeyId: "ASIANEXTROLEKEY00002",
      secretAccessKey: "next-secret",
      sessionToken: "next-session-token",
    };
    const verifier = createAwsVerifier({ ...BASE, credentials: [ROLE, next] });
    expect(verifier.accessKeyIds).toEqual([ROLE.accessKeyId, next.accessKeyId]);
    for (const credentials of [ROLE, next]) {
      const result = verifier.verifyToken(await presign({ credentials }), { now: NOW });
      expect(result).toMatchObject({ ok: true, claims: { accessKeyId: credentials.accessKeyId } });
    }
    const single = createAwsVerifier({ ...BASE, credentials: ROLE });
    expect(single.verifyToken(await presign({ credentials: next }), { now: NOW })).toEqual({
      ok: false,
      reason: "credential",
    });
  });

  it("takes the connection lifetime it is given as the claims' deadline", async () => {
    const verifier = createAwsVerifier({ ...BASE, connectionLifetimeMs: 1_500 });
    const result = verifier.verifyToken(await presign(), { now: NOW });
    expect(result).toMatchObject({ ok: true, claims: { connectionLifetimeMs: 1_500 } });
    expect(verifier.connectionLifetimeMs).toBe(1_500);
  });

  it("never shows a secret key or a session token", () => {
    const verifier = createAwsVerifier({ ...BASE, credentials: [KEY, ROLE] });
    const shown = `${inspect(verifier, { depth: 10 })} ${JSON.stringify(verifier)}`;
    expect(shown).toContain(KEY.accessKeyId);
    expect(shown).not.toContain(KEY.secretAccessKey);
    expect(shown).not.toContain(ROLE.secretAccessKey);
    expect(shown).not.toContain(ROLE.sessionToken);
  });
});

describe("createAwsVerifier: each rejection reason", () => {
  const verifier = createAwsVerifier(BASE);
  const verify = (token: string, user = BASE.userId, now = NOW) =>
    verifier.verifyToken(token, { user, now });
  let token: string;
  beforeAll(async () => {
    token = await presign();
    expect(verify(token).ok).toBe(true);
  });

  it.each<[string, (token: string) => string]>([
    ["an empty string", () => ""],
    ["not a URL", () => "not-a-token"],
    ["a JWT", () => "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.c2ln"],
    ["the scheme left in", (t) => `http://${t}`],
    ["another path", (t) => t.replace("my-cache/?", "my-cache/connect?")],
    ["no path", (t) => t.replace("my-cache/?", "my-cache?")],
    ["no signature", (t) => t.replace(/&X-Amz-Signature=[0-9a-f]+/, "")],
    ["a short signature", (t) => t.replace(/(X-Amz-Signature=[0-9a-f]{10})[0-9a-f]+/, "$1")],
    ["no X-Amz-Date", (t) => t.replace(/&X-Amz-Date=[^&]+/, "")],
    ["no X-Amz-Expires", (t) => t.replace(/&X-Amz-Expires=[^&]+/, "")],
    ["no X-Amz-Credential", (t) => t.replace(/&X-Amz-Credential=[^&]+/, "")],
    ["another algorithm", (t) => withParam(t, "X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256")],
    ["other signed headers", (t) => withParam(t, "X-Amz-SignedHeaders", "host;x-amz-date")],
    ["a garbled date", (t) => withParam(t, "X-Amz-Date", "2026-03-01T12:00:00Z")],
    ["an impossible date", (t) => withParam(t, "X-Amz-Date", "20260230T120000Z")],
    ["a negative expiry", (t) => withParam(t, "X-Amz-Expires", "-1")],
    [
      "a scope of 4 parts",
      (t) => withParam(t, "X-Amz-Credential", `${KEY.accessKeyId}/20260301/us-east-1/aws4_request`),
    ],
    [
      "a scope of another day",
      (t) =>
        withParam(
          t,
          "X-Amz-Credential",
          `${KEY.accessKeyId}/20260302/us-east-1/elasticache/aws4_request`,
        ),
    ],
    ["a bad escape", (t) => t.replace("User=iam-user-01", "User=%zz")],
    ["a parameter twice", (t) => `${t}&Action=connect`],
    ["an empty parameter", (t) => t.replace("&User=", "&&User=")],
  ])("malformed: %s", (_, tamper) => {
    expect(verify(tamper(token))).toEqual({ ok: false, reason: "malformed" });
  });

  it.each<[string, (token: string) => string]>([
    ["a changed User", (t) => withParam(t, "User", "iam-user-02")],
    ["a changed Action", (t) => withParam(t, "Action", "disconnect")],
    ["a changed host", (t) => t.replace("my-cache/", "other-cache/")],
    ["a changed date", (t) => withParam(t, "X-Amz-Date", "20260301T120001Z")],
    ["a longer expiry", (t) => withParam(t, "X-Amz-Expires", "600")],
    ["an added parameter", (t) => `${t}&ResourceType=ServerlessCache`],
    ["a removed parameter", (t) => t.replace("Action=connect&", "")],
    [
      "another signature",
      (t) =>
        t.replace(/X-Amz-Signature=([0-9a-f])/, (_, c) => `X-Amz-Signature=${c === "0" ? 1 : 0}`),
    ],
    [
      "the region changed in the scope",
      (t) =>
        withParam(
          t,
          "X-Amz-Credential",
          `${KEY.accessKeyId}/20260301/eu-west-1/elasticache/aws4_request`,
        ),
    ],
  ])("signature: %s after signing", (_, tamper) => {
    expect(verify(tamper(token))).toEqual({ ok: false, reason: "signature" });
  });

  it("signature: signed with another secret for the configured key id", async () => {
    const forged = await presign({ credentials: { ...KEY, secretAccessKey: "not-the-secret" } });
    expect(verify(forged)).toEqual({ ok: false, reason: "signature" });
  });

  it("signature: signed with S3's UNSIGNED-PAYLOAD instead of the empty payload's hash", async () => {
    const s3Style = await presign({ unsignedPayload: true });
    expect(s3Style).toContain("x-amz-content-sha256=UNSIGNED-PAYLOAD");
    expect(verify(s3Style)).toEqual({ ok: false, reason: "signature" });
  });

  it("credential: an unknown access key id, or a session token that is not the key's", async () => {
    const unknown = await presign({ credentials: { ...KEY, accessKeyId: "AKIAUNKNOWNKEY000000" } });
    expect(verify(unknown)).toEqual({ ok: false, reason: "credential" });
    // A session token where the configured key has none.
    const withSession = await presign({ credentials: { ...KEY, sessionToken: "some-session" } });
    expect(verify(withSession)).toEqual({ ok: false, reason: "credential" });
    // The key has a session token: the token must carry that one.
    const role = createAwsVerifier({ ...BASE, credentials: ROLE });
    const at = { user: BASE.userId, now: NOW };
    const { sessionToken: _, ...withoutSession } = ROLE;
    expect(role.verifyToken(await presign({ credentials: withoutSession }), at)).toEqual({
      ok: false,
      reason: "credential",
    });
    const otherSession = await presign({
      credentials: { ...ROLE, sessionToken: "another-session" },
    });
    expect(role.verifyToken(otherSession, at)).toEqual({ ok: false, reason: "credential" });
    // Swapped after signing: caught before the signature is even computed.
    const swapped = withParam(await presign({ credentials: ROLE }), "X-Amz-Security-Token", "x");
    expect(role.verifyToken(swapped, at)).toEqual({ ok: false, reason: "credential" });
  });

  it("host: signed for another cache", async () => {
    expect(verify(await presign({ cacheName: "other-cache" }))).toEqual({
      ok: false,
      reason: "host",
    });
  });

  it("action: signed for another action", async () => {
    const token = await presign({ query: { Action: "disconnect", User: BASE.userId } });
    expect(verify(token)).toEqual({ ok: false, reason: "action" });
    const none = await presign({ query: { User: BASE.userId } });
    expect(verify(none)).toEqual({ ok: false, reason: "action" });
  });

  it("user: the AUTH user name is not the token's User, or the User is not the cache's user", async () => {
    expect(verify(token, "someone-else")).toEqual({ ok: false, reason: "user" });
    expect(verify(token, "default")).toEqual({ ok: false, reason: "user" });
    const other = await presign({ query: { Action: "connect", User: "iam-user-02" } });
    expect(verify(other, "iam-user-02")).toEqual({ ok: false, reason: "user" });
    const none = await presign({ query: { Action: "connect" } });
    expect(verify(none)).toEqual({ ok: false, reason: "user" });
  });

  it("resource-type: ResourceType for a non-serverless cache, missing or other for a serverless one", async () => {
    expect(verify(await presign({ serverless: true }))).toEqual({
      ok: false,
      reason: "resource-type",
    });
    const serverless = createAwsVerifier({ ...BASE, serverless: true });
    const at = { user: BASE.userId, now: NOW };
    expect(serverless.verifyToken(token, at)).toEqual({ ok: false, reason: "resource-type" });
    const other = await presign({
      query: { Action: "connect", User: BASE.userId, ResourceType: "ReplicationGroup" },
    });
    expect(serverless.verifyToken(other, at)).toEqual({ ok: false, reason: "resource-type" });
  });

  it("service: signed for MemoryDB, checked as ElastiCache (and the reverse)", async () => {
    expect(verify(await presign({ service: "memorydb" }))).toEqual({
      ok: false,
      reason: "service",
    });
    const memorydb = createAwsVerifier({ ...BASE, service: "memorydb" });
    expect(memorydb.verifyToken(token, { now: NOW })).toEqual({ ok: false, reason: "service" });
    expect(verify(await presign({ service: "s3" }))).toEqual({ ok: false, reason: "service" });
  });

  it("region: signed for another region", async () => {
    expect(verify(await presign({ region: "eu-west-1" }))).toEqual({
      ok: false,
      reason: "region",
    });
  });

  it("expires-too-long: X-Amz-Expires above 900 seconds", async () => {
    expect(verify(await presign({ expiresIn: 901 }))).toEqual({
      ok: false,
      reason: "expires-too-long",
    });
    expect(verify(await presign({ expiresIn: 3600 }))).toEqual({
      ok: false,
      reason: "expires-too-long",
    });
    expect(verify(await presign({ expiresIn: 900 })).ok).toBe(true);
  });

  it("expired: valid up to X-Amz-Date + X-Amz-Expires, not at that instant", async () => {
    const start = SIGNED_AT.getTime();
    expect(verify(token, BASE.userId, start + 900_000 - 1).ok).toBe(true);
    expect(verify(token, BASE.userId, start + 900_000)).toEqual({ ok: false, reason: "expired" });
    expect(verify(token, BASE.userId, start + 3_600_000)).toEqual({
      ok: false,
      reason: "expired",
    });
    const short = await presign({ expiresIn: 3 });
    expect(verify(short, BASE.userId, start + 2_999).ok).toBe(true);
    expect(verify(short, BASE.userId, start + 3_000)).toEqual({ ok: false, reason: "expired" });
    const instant = await presign({ expiresIn: 0 });
    expect(verify(instant, BASE.userId, start)).toEqual({ ok: false, reason: "expired" });
  });

  it("not-yet-valid: signed in the future beyond the clock skew (5 minutes by default)", async () => {
    const start = SIGNED_AT.getTime();
    // The signer's clock 5 minutes ahead: still accepted; a millisecond more is not.
    expect(verify(token, BASE.userId, start - 300_000).ok).toBe(true);
    expect(verify(token, BASE.userId, start - 300_001)).toEqual({
      ok: false,
      reason: "not-yet-valid",
    });
    const strict = createAwsVerifier({ ...BASE, clockSkewMs: 0 });
    expect(strict.verifyToken(token, { now: start }).ok).toBe(true);
    expect(strict.verifyToken(token, { now: start - 1 })).toEqual({
      ok: false,
      reason: "not-yet-valid",
    });
  });

  it("checks the time against the real clock by default", async () => {
    const fresh = await presign({ signingDate: new Date() });
    expect(verifier.verifyToken(fresh, { user: BASE.userId }).ok).toBe(true);
    const old = await presign({ signingDate: new Date(Date.now() - 901_000) });
    expect(verifier.verifyToken(old, { user: BASE.userId })).toEqual({
      ok: false,
      reason: "expired",
    });
    const ahead = await presign({ signingDate: new Date(Date.now() + 360_000) });
    expect(verifier.verifyToken(ahead, { user: BASE.userId })).toEqual({
      ok: false,
      reason: "not-yet-valid",
    });
  });
});

describe("createAwsVerifier options", () => {
  it.each<[string, unknown]>([
    ["options", undefined],
    ["credentials", { ...BASE, credentials: undefined }],
    ["credentials", { ...BASE, credentials: [] }],
    ["credentials", { ...BASE, credentials: "AKIA" }],
    ["credentials.accessKeyId", { ...BASE, credentials: { secretAccessKey: "s" } }],
    ["credentials.accessKeyId", { ...BASE, credentials: { ...KEY, accessKeyId: "AKIA/X" } }],
    ["credentials.secretAccessKey", { ...BASE, credentials: { accessKeyId: "AKIA" } }],
    ["credentials.sessionToken", { ...BASE, credentials: { ...KEY, sessionToken: 42 } }],
    ["credentials[1].secretAccessKey", { ...BASE, credentials: [KEY, { accessKeyId: "AKIA2" }] }],
    ["credentials[1].accessKeyId", { ...BASE, credentials: [KEY, KEY] }],
    ["region", { ...BASE, region: undefined }],
    ["region", { ...BASE, region: "US East" }],
    ["cacheName", { ...BASE, cacheName: "" }],
    ["cacheName", { ...BASE, cacheName: "my-cache/x" }],
    ["userId", { ...BASE, userId: undefined }],
    ["userId", { ...BASE, userId: "two words" }],
    ["serverless", { ...BASE, serverless: "yes" }],
    ["service", { ...BASE, service: "s3" }],
    ["connectionLifetimeMs", { ...BASE, connectionLifetimeMs: 0 }],
    ["connectionLifetimeMs", { ...BASE, connectionLifetimeMs: Number.POSITIVE_INFINITY }],
    ["clockSkewMs", { ...BASE, clockSkewMs: -1 }],
  ])("rejects a wrong %s", (option, options) => {
    const create = () => createAwsVerifier(options as AwsVerifierOptions);
    expect(create).toThrow(InvalidOptionsError);
    expect(create).toThrow(expect.objectContaining({ option }));
  });

  it("does not keep the secret key in any error message", () => {
    try {
      createAwsVerifier({ ...BASE, credentials: { ...KEY, sessionToken: "" } });
      throw new Error("no error");
    } catch (error) {
      expect(String(error)).not.toContain(KEY.secretAccessKey);
    }
  });
});

describe("startTokenRedis options in AWS mode", () => {
  it.each<[string, unknown]>([
    ["identity", {}],
    ["identity", { tls: true }],
    ["aws", { aws: BASE, identity: createAwsVerifier(BASE) }],
    ["aws", { aws: null }],
    ["aws", { aws: "my-cache" }],
    ["aws.credentials", { aws: { ...BASE, credentials: undefined } }],
    [
      "aws.credentials[0].secretAccessKey",
      { aws: { ...BASE, credentials: [{ accessKeyId: "A" }] } },
    ],
    ["aws.region", { aws: { ...BASE, region: 1 } }],
    ["aws.cacheName", { aws: { ...BASE, cacheName: undefined } }],
    ["aws.userId", { aws: { ...BASE, userId: "" } }],
    ["aws.service", { aws: { ...BASE, service: "ElastiCache" } }],
    ["aws.connectionLifetimeMs", { aws: { ...BASE, connectionLifetimeMs: "12h" } }],
    ["tls", { aws: BASE, tls: "yes" }],
    ["cluster.masters", { aws: BASE, cluster: { masters: 0 } }],
  ])("rejects a wrong %s before starting anything", async (option, options) => {
    const started = startTokenRedis(options as TokenRedisOptions);
    await expect(started).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(started).rejects.toMatchObject({ option });
  });
});
