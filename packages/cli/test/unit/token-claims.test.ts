import { describeAwsToken, describeJwt, expiry } from "../../src/token-claims";

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const SIGNATURE = "c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1zaG93";
const jwt = (claims: object) => `${segment({ alg: "RS256" })}.${segment(claims)}.${SIGNATURE}`;

describe("describeJwt", () => {
  test("Entra's claims: object id, tenant, app, audience, expiry; never the signature", () => {
    const text = describeJwt(
      jwt({
        oid: "7c1c4a36-0000-4000-8000-000000000001",
        tid: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        appid: "11111111-2222-4333-8444-555555555555",
        aud: "https://redis.azure.com",
        exp: NOW / 1000 + 3600,
      }),
      NOW,
    );
    expect(text).toBe(
      "object id 7c1c4a36-0000-4000-8000-000000000001, tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, app 11111111-2222-4333-8444-555555555555, audience https://redis.azure.com, expires 2026-03-01T13:00:00.000Z (in 60 min)",
    );
    expect(text).not.toContain(SIGNATURE);
  });

  test("a user's token names the user; several audiences; an expired token says so", () => {
    expect(
      describeJwt(jwt({ upn: "alice@contoso.com", aud: ["a", "b"], exp: NOW / 1000 - 30 }), NOW),
    ).toBe("user alice@contoso.com, audience a b, expires 2026-03-01T11:59:30.000Z (30 s ago)");
  });

  test("not a JWT, or a JWT with nothing to show", () => {
    expect(describeJwt("a-plain-password", NOW)).toBeUndefined();
    expect(describeJwt(jwt({}), NOW)).toBeUndefined();
  });
});

describe("describeAwsToken", () => {
  const token = (extra = "") =>
    `my-cache/?Action=connect&User=app-user${extra}&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260301%2Fus-east-1%2Felasticache%2Faws4_request&X-Amz-Date=20260301T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=${"ab".repeat(32)}`;

  test("user, cache, region, service, access key id, validity; never the signature", () => {
    const text = describeAwsToken(token(), NOW) as string;
    expect(text).toBe(
      "user app-user, cache my-cache, elasticache in us-east-1, signed with access key AKIAIOSFODNN7EXAMPLE, valid 900 s, until 2026-03-01T12:15:00.000Z (in 15 min)",
    );
    expect(text).not.toContain("ab".repeat(32));
  });

  test("Serverless, and temporary credentials, whose session token stays out", () => {
    const text = describeAwsToken(
      token("&ResourceType=ServerlessCache&X-Amz-Security-Token=SESSION%2Btoken"),
      NOW,
    );
    expect(text).toContain("resource type ServerlessCache");
    expect(text).toContain("(temporary credentials: with a session token)");
    expect(text).not.toMatch(/SESSION/);
  });

  test("anything else is not an AWS token", () => {
    expect(describeAwsToken("password", NOW)).toBeUndefined();
    expect(describeAwsToken("host/?Action=connect", NOW)).toBeUndefined();
  });
});

test("expiry", () => {
  expect(expiry(Infinity, NOW)).toBe("never");
  expect(expiry(NOW + 90_000, NOW)).toBe("2026-03-01T12:01:30.000Z (in 90 s)");
  expect(expiry(NOW - 10 * 60_000, NOW)).toBe("2026-03-01T11:50:00.000Z (10 min ago)");
});
