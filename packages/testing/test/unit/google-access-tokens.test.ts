import { CLOUD_PLATFORM_SCOPE, createGoogleTokenSigner } from "../../src/google-access-tokens";

// The emulator's Google access tokens: self-verifying (claims and an HMAC of the emulator's own
// key), so that checking one needs no memory of the tokens issued.

const ACCOUNT = "redis-client@emulator-project.iam.gserviceaccount.com";
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0, 250);

describe("createGoogleTokenSigner", () => {
  test("a token is ya29.<claims>.<mac>, in the characters Google's tokens use, and verifies", () => {
    const signer = createGoogleTokenSigner();
    const { token, claims } = signer.issue({
      serviceAccount: ACCOUNT,
      lifetimeMs: 1_500,
      now: NOW,
    });
    expect(token).toMatch(/^ya29\.[\w-]+\.[\w-]{43}$/);
    expect(claims).toEqual({
      oid: ACCOUNT,
      sub: ACCOUNT,
      scopes: [CLOUD_PLATFORM_SCOPE],
      iat: NOW / 1000,
      exp: (NOW + 1_500) / 1000,
    });
    expect(signer.verify(token, NOW)).toEqual({ ok: true, claims });
  });

  test("it lives exactly its lifetime: valid 1 ms before, expired at its exp", () => {
    const signer = createGoogleTokenSigner();
    const { token } = signer.issue({ serviceAccount: ACCOUNT, lifetimeMs: 2_000, now: NOW });
    expect(signer.verify(token, NOW + 1_999).ok).toBe(true);
    expect(signer.verify(token, NOW + 2_000)).toEqual({ ok: false, reason: "expired" });
  });

  test("carries the scopes asked for; two tokens issued at once differ", () => {
    const signer = createGoogleTokenSigner();
    const scopes = ["https://www.googleapis.com/auth/userinfo.email", CLOUD_PLATFORM_SCOPE];
    const first = signer.issue({ serviceAccount: ACCOUNT, lifetimeMs: 60_000, scopes, now: NOW });
    const second = signer.issue({ serviceAccount: ACCOUNT, lifetimeMs: 60_000, scopes, now: NOW });
    expect(first.token).not.toBe(second.token);
    const verified = signer.verify(first.token, NOW);
    expect(verified.ok && verified.claims.scopes).toEqual(scopes);
  });

  test("another signer's token, or one changed after issuing, is refused as signature", () => {
    const signer = createGoogleTokenSigner();
    const other = createGoogleTokenSigner();
    const { token } = signer.issue({ serviceAccount: ACCOUNT, lifetimeMs: 60_000, now: NOW });
    expect(other.verify(token, NOW)).toEqual({ ok: false, reason: "signature" });

    // The claims re-encoded for another service account, the MAC kept.
    const [, body, mac] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    const forged = Buffer.from(
      JSON.stringify({ ...claims, sub: "intruder@x.iam.gserviceaccount.com" }),
    );
    expect(signer.verify(`ya29.${forged.toString("base64url")}.${mac}`, NOW)).toEqual({
      ok: false,
      reason: "signature",
    });
    expect(signer.verify(`${token.slice(0, -2)}AA`, NOW)).toEqual({
      ok: false,
      reason: "signature",
    });
  });

  test.each([
    ["an empty string", ""],
    ["an Entra JWT", "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.c2ln"],
    ["a bare prefix", "ya29."],
    ["no MAC", "ya29.eyJzdWIiOiJ4In0"],
    ["claims that are not JSON", "ya29.bm90LWpzb24.c2ln"],
    [
      "claims without sub",
      `ya29.${Buffer.from('{"scopes":[],"iat":1,"exp":2}').toString("base64url")}.c2ln`,
    ],
    ["a real-looking opaque Google token", "ya29.a0AfB_byC-not-ours.0123"],
  ])("%s is malformed", (_, token) => {
    expect(createGoogleTokenSigner().verify(token, NOW)).toEqual({
      ok: false,
      reason: "malformed",
    });
  });
});
