import { inspect } from "node:util";
import {
  AggregateAuthenticationError,
  AuthenticationError,
  CredentialUnavailableError,
  type GetTokenOptions,
  type TokenCredential,
} from "@azure/identity";
import {
  createTokenManager,
  InvalidOptionsError,
  InvalidTokenError,
  isPermanent,
} from "@redis-credentials/core";
import {
  classifyEntraIdError,
  EntraIdError,
  entraId,
  entraIdServicePrincipal,
  REDIS_SCOPE,
} from "@redis-credentials/entra-id";
import { fakeJwt, fetchOnce } from "../entra-nock";

/** A credential of our own: @azure/identity's interface is all entraId() relies on. */
function credentialReturning(answer: () => ReturnType<TokenCredential["getToken"]>) {
  const calls: { scopes: string | string[]; options: GetTokenOptions | undefined }[] = [];
  const credential: TokenCredential = {
    getToken: (scopes, options) => {
      calls.push({ scopes, options });
      return answer();
    },
  };
  return { credential, calls };
}

const inAnHour = () => Date.now() + 3_600_000;

test("asks for the Redis scope by default and passes getTokenOptions and the manager's abort signal", async () => {
  const token = fakeJwt({ oid: "the-oid", exp: Math.floor(inAnHour() / 1000) });
  const { credential, calls } = credentialReturning(async () => ({
    token,
    expiresOnTimestamp: inAnHour(),
  }));
  const signal = new AbortController().signal;
  await fetchOnce(entraId({ credential, getTokenOptions: { tenantId: "other-tenant" } }), signal);
  expect(calls[0]?.scopes).toEqual([REDIS_SCOPE]);
  expect(calls[0]?.options).toMatchObject({ tenantId: "other-tenant", abortSignal: signal });
  await fetchOnce(entraId({ credential, scopes: "acca5fbb-b7e4-4009-81f1-37e38fd66d78/.default" }));
  expect(calls[1]?.scopes).toEqual(["acca5fbb-b7e4-4009-81f1-37e38fd66d78/.default"]);
});

test("the expiry is the earlier of expiresOnTimestamp and the JWT's exp", async () => {
  const exp = Math.floor(Date.now() / 1000) + 600;
  const token = fakeJwt({ oid: "o", exp });
  const later = credentialReturning(async () => ({
    token,
    expiresOnTimestamp: exp * 1000 + 60_000,
  }));
  expect((await fetchOnce(entraId({ credential: later.credential }))).expiresAt).toBe(exp * 1000);
  const earlier = credentialReturning(async () => ({
    token,
    expiresOnTimestamp: exp * 1000 - 60_000,
  }));
  expect((await fetchOnce(entraId({ credential: earlier.credential }))).expiresAt).toBe(
    exp * 1000 - 60_000,
  );
});

test("refreshAfterTimestamp becomes the refreshAt hint; one at or past the expiry is ignored", async () => {
  const expiresOnTimestamp = inAnHour();
  const token = fakeJwt({ oid: "o", exp: Math.floor(expiresOnTimestamp / 1000) + 1 });
  const hinted = credentialReturning(async () => ({
    token,
    expiresOnTimestamp,
    refreshAfterTimestamp: expiresOnTimestamp - 1_800_000,
  }));
  expect((await fetchOnce(entraId({ credential: hinted.credential }))).refreshAt).toBe(
    expiresOnTimestamp - 1_800_000,
  );
  const late = credentialReturning(async () => ({
    token,
    expiresOnTimestamp,
    refreshAfterTimestamp: expiresOnTimestamp + 1,
  }));
  expect((await fetchOnce(entraId({ credential: late.credential }))).refreshAt).toBeUndefined();
});

test("a token without oid, or not a JWT: a permanent InvalidTokenError telling to pass username, never the token", async () => {
  const noOid = fakeJwt({ sub: "s", exp: Math.floor(inAnHour() / 1000) });
  const opaque = "opaque-access-token-value-0123456789";
  for (const token of [noOid, opaque]) {
    const { credential } = credentialReturning(async () => ({
      token,
      expiresOnTimestamp: inAnHour(),
    }));
    const failure = (await fetchOnce(entraId({ credential })).catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(InvalidTokenError);
    expect(isPermanent(failure)).toBe(true);
    expect(failure.message).toMatch(/pass `username` to entraId\(\)/);
    expect(`${failure.message} ${inspect(failure)}`).not.toContain(token);
  }
  // With username given, an opaque token is fine: its expiry comes from the response.
  const expiresOnTimestamp = inAnHour();
  const { credential } = credentialReturning(async () => ({ token: opaque, expiresOnTimestamp }));
  const credentials = await fetchOnce(entraId({ credential, username: "mapped-user" }));
  expect(credentials).toMatchObject({ username: "mapped-user", expiresAt: expiresOnTimestamp });
});

test("username overrides the oid claim", async () => {
  const token = fakeJwt({ oid: "the-oid", exp: Math.floor(inAnHour() / 1000) });
  const { credential } = credentialReturning(async () => ({
    token,
    expiresOnTimestamp: inAnHour(),
  }));
  expect((await fetchOnce(entraId({ credential, username: "override" }))).username).toBe(
    "override",
  );
});

test("the source's name says which credential it uses; a plain object is a TokenCredential", () => {
  const { credential } = credentialReturning(async () => null);
  expect(entraId({ credential }).name).toBe("entra-id (TokenCredential)");
  class VaultCredential {
    getToken = async () => null;
  }
  expect(entraId({ credential: new VaultCredential() }).name).toBe("entra-id (VaultCredential)");
});

test("a credential that returns null: a retryable EntraIdError", async () => {
  const { credential } = credentialReturning(async () => null);
  const failure = (await fetchOnce(entraId({ credential })).catch(
    (e: unknown) => e,
  )) as EntraIdError;
  expect(failure).toBeInstanceOf(EntraIdError);
  expect(failure.retryable).toBe(true);
  expect(isPermanent(failure)).toBe(false);
});

test("a getToken that never settles: the manager's timeout ends the attempt and retries", async () => {
  let calls = 0;
  const token = fakeJwt({ oid: "o", exp: Math.floor(inAnHour() / 1000) });
  const { credential } = credentialReturning(() => {
    calls += 1;
    return calls === 1
      ? new Promise(() => {})
      : Promise.resolve({ token, expiresOnTimestamp: inAnHour() });
  });
  const manager = createTokenManager(entraId({ credential }), {
    fetchTimeoutMs: 50,
    retry: { initialDelayMs: 10 },
  });
  await expect(manager.getCredentials()).rejects.toThrow(/timed out|50 ms/);
  await expect(manager.getCredentials()).resolves.toMatchObject({ username: "o" });
  expect(calls).toBe(2);
  await manager.dispose();
});

test("options are checked up front, with typed errors that say what to pass", () => {
  const credential = credentialReturning(async () => null).credential;
  expect(() => entraId({ credential, scopes: [] })).toThrow(InvalidOptionsError);
  expect(() => entraId({ credential, scopes: [""] })).toThrow(
    /https:\/\/redis\.azure\.com\/\.default/,
  );
  expect(() => entraId({ credential, username: " " })).toThrow(/username/);
  expect(() => entraId({ credential: {} as TokenCredential })).toThrow(/getToken/);
  expect(() => entraId(null as never)).toThrow(InvalidOptionsError);
  const base = { tenantId: "t", clientId: "c" };
  expect(() => entraIdServicePrincipal(base)).toThrow(/exactly one of clientSecret, certificate/);
  expect(() =>
    entraIdServicePrincipal({ ...base, clientSecret: "s", certificatePath: "/p" }),
  ).toThrow(/clientSecret\/certificatePath/);
  expect(() => entraIdServicePrincipal({ ...base, tenantId: "", clientSecret: "s" })).toThrow(
    /tenantId/,
  );
});

test("a chain's errors: retryable when any member is, else the most telling member's refusal", () => {
  const unavailable = new CredentialUnavailableError("EnvironmentCredential is unavailable.");
  const throttled = new AuthenticationError(429, {
    error: "too_many_requests",
    error_description: "slow down",
  });
  const refused = new AuthenticationError(400, {
    error: "invalid_client",
    error_description: "bad secret",
  });
  expect(
    classifyEntraIdError(new AggregateAuthenticationError([unavailable, throttled])),
  ).toMatchObject({ retryable: true, status: 429 });
  expect(
    classifyEntraIdError(new AggregateAuthenticationError([unavailable, refused])),
  ).toMatchObject({ retryable: false, code: "invalid_client" });
  expect(classifyEntraIdError(new AggregateAuthenticationError([unavailable]))).toMatchObject({
    retryable: false,
    code: "credential_unavailable",
  });
  expect(classifyEntraIdError(new Error("something unexpected"))).toMatchObject({
    retryable: true,
  });
});
