import { inspect } from "node:util";
import {
  CredentialsFetchError,
  createTokenManager,
  isPermanent,
  type RedisCredentials,
  type TokenManager,
} from "@redis-credentials/core";
import { FakeClock } from "@redis-credentials/core/testing";
import { GcpIamError, gcpIam } from "@redis-credentials/gcp-iam";
import { JWT } from "google-auth-library";
import nock from "nock";
import {
  accessToken,
  CLOUD_PLATFORM,
  counted,
  expectNoSecrets,
  fakeLibraryTime,
  fastRetries,
  isolateGoogleEnvironment,
  OAUTH,
  privateKeyParts,
  SERVICE_ACCOUNT,
  serviceAccountKey,
  tokenBody,
  until,
} from "../google-helpers";

// gcpIam() under a real token manager, with a real service account client: the manager runs on a
// fake clock, and the library's clock (it reads `new Date()`) is moved along with it.
isolateGoogleEnvironment();

const HOUR = 3_600_000;
const LIBRARY_MARGIN = 5 * 60_000; // google-auth-library's eagerRefreshThresholdMillis

function serviceAccount(): JWT {
  return new JWT({
    email: SERVICE_ACCOUNT,
    key: serviceAccountKey().privateKey,
    scopes: [CLOUD_PLATFORM],
    transporterOptions: fastRetries,
  });
}

/** A manager on a fake clock; `to(t)` moves the library's time and the manager's to `t`. */
function managed() {
  const time = fakeLibraryTime();
  const clock = new FakeClock(time.now());
  const manager = createTokenManager(gcpIam({ auth: serviceAccount() }), { clock });
  const to = async (epochMs: number) => {
    time.set(epochMs);
    await clock.advanceTo(epochMs);
  };
  return { time, clock, manager, to };
}

let manager: TokenManager | undefined;
afterEach(async () => {
  await manager?.dispose();
  manager = undefined;
});

test("with the real clock: credentials of `default`, a refresh planned ahead of the hour, nothing secret shown", async () => {
  const token = accessToken();
  nock(OAUTH).post("/token").reply(200, tokenBody(token, 3_600));
  manager = createTokenManager(gcpIam({ auth: serviceAccount() }));
  const credentials = await manager.getCredentials();
  expect(credentials.password).toBe(token);
  const status = manager.status();
  expect(status).toMatchObject({
    state: "ready",
    source: `gcp-iam (service account ${SERVICE_ACCOUNT})`,
    username: "default",
  });
  // Three quarters into the hour, give or take the jitter.
  expect(status.nextRefreshAt).toBeGreaterThanOrEqual(credentials.expiresAt - HOUR / 4 - 30_000);
  expect(status.nextRefreshAt).toBeLessThanOrEqual(credentials.expiresAt - HOUR / 4);
  const printed = `${inspect(status, { depth: 10 })} ${JSON.stringify(status)} ${inspect(credentials)} ${JSON.stringify(credentials)}`;
  expect(printed).not.toContain(token);
});

test("the library's cached token handed back is no change; its next token is one change, fanned out once", async () => {
  const run = managed();
  manager = run.manager;
  const tokens = [accessToken("first"), accessToken("second")];
  const endpoint = counted(() => [200, tokenBody(tokens.shift() as string, 3_600)] as const);
  nock(OAUTH).post("/token").times(2).reply(endpoint.reply);
  const received: RedisCredentials[] = [];

  const first = await manager.getCredentials();
  manager.subscribe((credentials) => {
    received.push(credentials);
  });
  const expiry = first.expiresAt;
  expect(expiry).toBe(run.time.now() + HOUR);

  // The manager's scheduled refresh, 45 minutes in: the library still serves its token.
  await run.to(manager.status().nextRefreshAt as number);
  // A forced refresh (as after WRONGPASS) too.
  expect((await manager.refresh()).password).toBe(first.password);
  // And every attempt after, until the library's own margin: each a cache hit.
  await run.to(expiry - LIBRARY_MARGIN - 1_000);
  const status = manager.status();
  expect(status.counters.fetches).toBeGreaterThan(5);
  expect(status.counters.refreshes).toBe(1);
  expect(status.counters.failures).toBe(0);
  expect(endpoint.count).toBe(1);
  expect(received).toHaveLength(0);
  expect(manager.peekCredentials()?.password).toBe(first.password);

  // Inside the margin, the next attempt brings the library's new token.
  run.time.set(expiry - LIBRARY_MARGIN + 1_000);
  await run.clock.advanceTo(manager.status().nextRefreshAt as number);
  await until(() => manager?.status().counters.refreshes === 2);
  await run.clock.advance(5_000); // the fan-out's spread
  expect(endpoint.count).toBe(2);
  expect(received).toHaveLength(1);
  expect(received[0]?.password).not.toBe(first.password);
  expect(received[0]?.expiresAt).toBeGreaterThan(expiry);
});

test("a retryable failure is retried; a permanent one (invalid_grant) stops the retries", async () => {
  const run = managed();
  manager = run.manager;
  const failures: Error[] = [];
  manager.on("refreshFailed", (error) => failures.push(error));
  const token = accessToken();
  nock(OAUTH).post("/token").reply(200, tokenBody(token, 3_600));
  const first = await manager.getCredentials();

  // The library refreshes (its margin reached) and Google is down: retried with backoff.
  nock(OAUTH).post("/token").times(4).reply(503, "Service Unavailable");
  run.time.set(first.expiresAt - LIBRARY_MARGIN + 1_000);
  await run.clock.advanceTo(manager.status().nextRefreshAt as number);
  await until(() => failures.length === 1);
  expect(failures[0]).toBeInstanceOf(CredentialsFetchError);
  expect(failures[0]?.cause).toBeInstanceOf(GcpIamError);
  expect((failures[0]!.cause as GcpIamError).code).toBe("ServiceUnavailable");
  expect(isPermanent(failures[0])).toBe(false);
  const retryAt = manager.status().nextRefreshAt as number;
  expect(retryAt).toBeGreaterThan(run.clock.now());

  // Then the key is refused: no more retries; the token held serves until it expires.
  nock(OAUTH)
    .post("/token")
    .reply(400, { error: "invalid_grant", error_description: "Invalid JWT Signature." });
  await run.clock.advanceTo(retryAt);
  await until(() => failures.length === 2);
  expect((failures[1]!.cause as GcpIamError).code).toBe("invalid_grant");
  expect(isPermanent(failures[1])).toBe(true);
  expect(manager.status().nextRefreshAt).toBeUndefined();
  expect(manager.peekCredentials()?.password).toBe(token);
  for (const failure of failures) expectNoSecrets(failure, [token, ...privateKeyParts()]);
});
