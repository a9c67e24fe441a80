import { InvalidOptionsError } from "@redis-credentials/core";
import {
  createGcpVerifier,
  type GcpVerifierOptions,
  type GoogleTokenVerifier,
} from "../../src/gcp-verifier";
import { createGoogleTokenSigner } from "../../src/google-access-tokens";
import { createTokenIssuer } from "../../src/token-issuer";
import { startTokenRedis } from "../../src/token-redis";
import type { TokenRedisOptions } from "../../src/token-redis-types";

// Memorystore IAM authentication's rules, checked at chosen instants (`now`): no server, no sleep.

const ACCOUNT = "redis-client@emulator-project.iam.gserviceaccount.com";
const OTHER = "batch-job@emulator-project.iam.gserviceaccount.com";
/** 250 ms into a wall-clock second. */
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0, 250);
const TWELVE_HOURS = 12 * 60 * 60 * 1000;

const signer = createGoogleTokenSigner();
/** What the identity emulator offers GCP mode. */
const identity: GoogleTokenVerifier = {
  verifyGoogleAccessToken: (token, options) => signer.verify(token, options?.now),
};
const token = (serviceAccount = ACCOUNT, lifetimeMs = 3_600_000) =>
  signer.issue({ serviceAccount, lifetimeMs, now: NOW }).token;
const verifier = (options: Omit<GcpVerifierOptions, "identity"> = {}) =>
  createGcpVerifier({ identity, ...options });

describe("createGcpVerifier: Memorystore IAM authentication", () => {
  test("accepts AUTH default <token>: the connection lives 12 hours, whatever the token's expiry", () => {
    const gcp = verifier();
    const valid = token(ACCOUNT, 60_000);
    const expected = {
      ok: true,
      claims: { oid: ACCOUNT, exp: (NOW + 60_000) / 1000, connectionLifetimeMs: TWELVE_HOURS },
    };
    expect(gcp.verifyToken(valid, { user: "default", now: NOW })).toEqual(expected);
    // AUTH <token> (no user name) is AUTH default <token>.
    expect(gcp.verifyToken(valid, { now: NOW })).toEqual(expected);
    expect(gcp.connectionLifetimeMs).toBe(TWELVE_HOURS);
  });

  test("connectionLifetimeMs can be shortened for tests", () => {
    const gcp = verifier({ connectionLifetimeMs: 1_500 });
    const result = gcp.verifyToken(token(), { now: NOW });
    expect(result.ok && result.claims.connectionLifetimeMs).toBe(1_500);
  });

  test("any user but default is refused as user, even with a valid token", () => {
    const gcp = verifier();
    for (const user of [ACCOUNT, "admin", "Default", ""]) {
      expect(gcp.verifyToken(token(), { user, now: NOW })).toEqual({ ok: false, reason: "user" });
    }
  });

  test("malformed, foreign and expired tokens are refused with the emulator's reasons", () => {
    const gcp = verifier();
    const foreign = createGoogleTokenSigner().issue({
      serviceAccount: ACCOUNT,
      lifetimeMs: 60_000,
      now: NOW,
    }).token;
    const brief = token(ACCOUNT, 1_000);
    const refusals = [
      gcp.verifyToken("not-a-token", { now: NOW }),
      gcp.verifyToken(foreign, { now: NOW }),
      gcp.verifyToken(brief, { now: NOW + 1_000 }),
    ];
    expect(refusals).toEqual([
      { ok: false, reason: "malformed" },
      { ok: false, reason: "signature" },
      { ok: false, reason: "expired" },
    ]);
    expect(gcp.verifyToken(brief, { now: NOW + 999 }).ok).toBe(true);
  });

  test("a verifier of one's own may refuse with any reason: an unknown one counts as malformed", () => {
    const gcp = createGcpVerifier({
      identity: { verifyGoogleAccessToken: () => ({ ok: false, reason: "revoked" }) },
    });
    expect(gcp.verifyToken("ya29.x", { now: NOW })).toEqual({ ok: false, reason: "malformed" });
  });

  test("principals: only the service accounts granted the role connect (emails compared case-insensitively)", () => {
    const gcp = verifier({ principals: [ACCOUNT.toUpperCase()] });
    expect(gcp.verifyToken(token(ACCOUNT), { now: NOW }).ok).toBe(true);
    expect(gcp.verifyToken(token(OTHER), { now: NOW })).toEqual({
      ok: false,
      reason: "principal",
    });
    // Without principals, any service account with a valid token is in.
    expect(verifier().verifyToken(token(OTHER), { now: NOW })).toMatchObject({
      ok: true,
      claims: { oid: OTHER },
    });
  });
});

describe("newConnectionsPerSecond", () => {
  const exhausted = {
    ok: false,
    reason: "iam-exhausted",
    errorReply: {
      code: "ERR_IAM_EXHAUSTED",
      message: "IAM authentication quota exceeded, retry with exponential backoff",
    },
  };

  test("AUTHs of new connections beyond the limit in one wall-clock second get ERR_IAM_EXHAUSTED", () => {
    const gcp = verifier({ newConnectionsPerSecond: 2 });
    expect(gcp.verifyToken(token(), { now: NOW }).ok).toBe(true);
    expect(gcp.verifyToken(token(), { now: NOW + 700 }).ok).toBe(true);
    // Still the same second (NOW is 250 ms into it): IAM does not even look at the token.
    expect(gcp.verifyToken(token(), { now: NOW + 749 })).toEqual(exhausted);
    expect(gcp.verifyToken("not-a-token", { now: NOW + 749 })).toEqual(exhausted);
    // The next second has a fresh budget.
    expect(gcp.verifyToken(token(), { now: NOW + 750 }).ok).toBe(true);
  });

  test("refused tokens count too: every AUTH of an unauthenticated connection asks IAM", () => {
    const gcp = verifier({ newConnectionsPerSecond: 2 });
    expect(gcp.verifyToken("not-a-token", { now: NOW })).toEqual({
      ok: false,
      reason: "malformed",
    });
    const expired = signer.issue({ serviceAccount: ACCOUNT, lifetimeMs: 1_000, now: NOW - 2_000 });
    expect(gcp.verifyToken(expired.token, { now: NOW + 50 })).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(gcp.verifyToken(token(), { now: NOW + 100 })).toEqual(exhausted);
  });

  test("an AUTH under another user name is refused before IAM is asked: it uses no budget", () => {
    const gcp = verifier({ newConnectionsPerSecond: 1 });
    expect(gcp.verifyToken(token(), { user: "admin", now: NOW })).toEqual({
      ok: false,
      reason: "user",
    });
    expect(gcp.verifyToken(token(), { now: NOW }).ok).toBe(true);
  });

  test("a re-AUTH of an authenticated connection is not limited, and uses no budget", () => {
    const gcp = verifier({ newConnectionsPerSecond: 1 });
    expect(gcp.verifyToken(token(), { authenticated: true, now: NOW }).ok).toBe(true);
    expect(gcp.verifyToken(token(), { authenticated: false, now: NOW }).ok).toBe(true);
    expect(gcp.verifyToken(token(), { now: NOW })).toEqual(exhausted);
    for (let i = 0; i < 10; i++) {
      expect(gcp.verifyToken(token(), { authenticated: true, now: NOW }).ok).toBe(true);
    }
    // A re-AUTH with a bad token is refused for what it is.
    expect(gcp.verifyToken("not-a-token", { authenticated: true, now: NOW })).toEqual({
      ok: false,
      reason: "malformed",
    });
  });

  test("one budget per verifier: every node of a cluster shares it", () => {
    const gcp = verifier({ newConnectionsPerSecond: 3 });
    const results = Array.from({ length: 5 }, () => gcp.verifyToken(token(), { now: NOW }).ok);
    expect(results).toEqual([true, true, true, false, false]);
    // Another verifier (another token Redis) has its own.
    expect(verifier({ newConnectionsPerSecond: 3 }).verifyToken(token(), { now: NOW }).ok).toBe(
      true,
    );
  });
});

describe("options", () => {
  test.each<[string, unknown, string]>([
    ["newConnectionsPerSecond 0", { newConnectionsPerSecond: 0 }, "newConnectionsPerSecond"],
    ["newConnectionsPerSecond 1.5", { newConnectionsPerSecond: 1.5 }, "newConnectionsPerSecond"],
    ["newConnectionsPerSecond '3'", { newConnectionsPerSecond: "3" }, "newConnectionsPerSecond"],
    ["principals []", { principals: [] }, "principals"],
    ["principals not emails", { principals: ["redis-client"] }, "principals"],
    ["principals a string", { principals: ACCOUNT }, "principals"],
    ["connectionLifetimeMs 0", { connectionLifetimeMs: 0 }, "connectionLifetimeMs"],
    ["an unknown option", { perSecond: 5 }, "perSecond"],
  ])("%s is refused, naming the option", (_, options, option) => {
    const error = (() => {
      try {
        createGcpVerifier({ identity, ...(options as object) });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(option);
  });

  test("identity must verify Google access tokens", () => {
    for (const wrong of [undefined, createTokenIssuer(), {}]) {
      expect(() => createGcpVerifier({ identity: wrong as never })).toThrow(
        expect.objectContaining({ option: "identity" }),
      );
    }
    expect(() => createGcpVerifier({ identity })).not.toThrow();
  });

  test.each<[string, unknown, string, RegExp]>([
    ["gcp without identity", { gcp: {} }, "identity", /pass the identity emulator/],
    [
      "gcp with a verifier of Entra tokens only",
      { identity: createTokenIssuer(), gcp: {} },
      "identity",
      /verifyGoogleAccessToken|Google access tokens/,
    ],
    [
      "gcp with aws",
      {
        gcp: {},
        aws: {
          credentials: { accessKeyId: "A", secretAccessKey: "s" },
          region: "r",
          cacheName: "c",
          userId: "u",
        },
      },
      "gcp",
      /aws/,
    ],
    [
      "a wrong gcp option",
      { identity, gcp: { newConnectionsPerSecond: -1 } },
      "gcp.newConnectionsPerSecond",
      /positive integer/,
    ],
    ["gcp not an object", { identity, gcp: 5 }, "gcp", /newConnectionsPerSecond/],
  ])("startTokenRedis refuses %s before starting anything", async (_, options, option, message) => {
    const error = await startTokenRedis(options as TokenRedisOptions).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(option);
    expect((error as Error).message).toMatch(message);
  });
});
