import { type AuthClient, Compute, GoogleAuth } from "google-auth-library";
import { type IdentityEmulator, startIdentityEmulator } from "../../src/identity-emulator";
import { CLOUD_PLATFORM, pointGoogleAuthAt } from "./gcp-helpers";
import { failureOf, rawRequest, sleep, useIdentityEmulator } from "./identity-helpers";

// The real google-auth-library (Application Default Credentials, through gcp-metadata and gaxios)
// against the emulator's metadata server, and the server's answers as raw HTTP. Its own file:
// gcp-metadata caches its detection of the metadata server once per module registry.

const LIFETIME_MS = 3_000;

let idp: IdentityEmulator;
useIdentityEmulator({ tokenLifetimeMs: LIFETIME_MS }, (started) => {
  idp = started;
});

let restoreEnvironment: (() => void) | undefined;
let auth: GoogleAuth;
/** ADC's client: it asks for a token at every getAccessToken, as ours live less than its 5-minute margin. */
let client: AuthClient;

beforeAll(async () => {
  restoreEnvironment = pointGoogleAuthAt(idp);
  auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  client = await auth.getClient();
}, 20_000);

afterAll(() => restoreEnvironment?.());

const metadataUrl = (key: string) => `http://${idp.gceMetadataHost}/computeMetadata/v1/${key}`;
const flavor = { "Metadata-Flavor": "Google" };
const requests = (outcome: string) => idp.stats().requests[outcome] ?? 0;

/** The token ADC's client gets now, checked by the emulator, with when it was asked for. */
async function accessToken(from: AuthClient = client) {
  const before = Date.now();
  const { token } = await from.getAccessToken();
  const after = Date.now();
  const verified = idp.verifyGoogleAccessToken(token!);
  if (!verified.ok) throw new Error(`token refused: ${verified.reason}`);
  return { token: token!, claims: verified.claims, before, after };
}

describe("google-auth-library against the metadata server", () => {
  test("ADC detects the metadata server and gets the attached service account's token, living tokenLifetimeMs", async () => {
    expect(idp.gceMetadataHost).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(client).toBeInstanceOf(Compute);
    const issuedBefore = idp.stats().tokensIssuedByClient[idp.googleServiceAccount] ?? 0;

    const { token, claims, before, after } = await accessToken();
    expect(token).toMatch(/^ya29\./);
    expect(claims).toMatchObject({ oid: idp.googleServiceAccount, scopes: [CLOUD_PLATFORM] });
    expect(claims.exp * 1000).toBeGreaterThanOrEqual(before + LIFETIME_MS);
    expect(claims.exp * 1000).toBeLessThanOrEqual(after + LIFETIME_MS);
    // The library's expiry: its clock when the answer came plus expires_in (whole seconds).
    const expiry = client.credentials.expiry_date!;
    expect(expiry).toBeGreaterThanOrEqual(before + LIFETIME_MS);
    expect(expiry).toBeLessThanOrEqual(after + LIFETIME_MS);
    expect(Math.abs(expiry - claims.exp * 1000)).toBeLessThan(100);

    const stats = idp.stats();
    expect(stats.tokensIssuedByClient[idp.googleServiceAccount]).toBe(issuedBefore + 1);
    // The detection ping and the project id, asked by getClient().
    expect(stats.requests.metadata).toBeGreaterThanOrEqual(2);
  });

  test("every getAccessToken of a token this short-lived asks again, for a new token", async () => {
    const first = await accessToken();
    const second = await accessToken();
    expect(second.token).not.toBe(first.token);
  });

  test("the project id, the service account's email and the universe domain come from the metadata server", async () => {
    expect(await auth.getProjectId()).toBe("emulator-project");
    expect(await auth.getCredentials()).toEqual({
      client_email: "redis-client@emulator-project.iam.gserviceaccount.com",
      universe_domain: "googleapis.com",
    });
    expect(await auth.getUniverseDomain()).toBe("googleapis.com");
  });

  test("the scopes a client asks for are the token's", async () => {
    const scopes = ["https://www.googleapis.com/auth/userinfo.email", CLOUD_PLATFORM];
    const { claims } = await accessToken(new Compute({ scopes }));
    expect(claims.scopes).toEqual(scopes);
  });

  test("an emulator's googleServiceAccount and googleProjectId are what ADC finds", async () => {
    await using other = await startIdentityEmulator({
      googleServiceAccount: "app@my-project.iam.gserviceaccount.com",
      googleProjectId: "my-project",
    });
    process.env.GCE_METADATA_HOST = other.gceMetadataHost;
    try {
      const otherAuth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
      const { token } = await (await otherAuth.getClient()).getAccessToken();
      expect(other.verifyGoogleAccessToken(token!)).toMatchObject({
        ok: true,
        claims: { oid: "app@my-project.iam.gserviceaccount.com" },
      });
      expect(idp.verifyGoogleAccessToken(token!)).toEqual({ ok: false, reason: "signature" });
      expect(await otherAuth.getProjectId()).toBe("my-project");
      expect(other.stats().tokensIssuedByClient).toEqual({
        "app@my-project.iam.gserviceaccount.com": 1,
      });
    } finally {
      process.env.GCE_METADATA_HOST = idp.gceMetadataHost;
    }
  }, 20_000);
});

describe("the metadata server's answers", () => {
  test("the token endpoint answers Google's JSON, with Metadata-Flavor: Google", async () => {
    const response = await rawRequest(
      idp,
      metadataUrl(`instance/service-accounts/default/token?scopes=${CLOUD_PLATFORM}`),
      { headers: flavor },
    );
    expect(response.status).toBe(200);
    expect(response.headers["metadata-flavor"]).toBe("Google");
    expect(response.headers["content-type"]).toBe("application/json");
    expect(Object.keys(response.body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    expect(response.body).toMatchObject({ expires_in: LIFETIME_MS / 1000, token_type: "Bearer" });
    expect(idp.verifyGoogleAccessToken(response.body.access_token).ok).toBe(true);

    // The service account by its email, as well as `default`.
    const byEmail = await rawRequest(
      idp,
      metadataUrl(`instance/service-accounts/${idp.googleServiceAccount}/token`),
      { headers: flavor },
    );
    expect(byEmail.status).toBe(200);
    expect(idp.verifyGoogleAccessToken(byEmail.body.access_token)).toMatchObject({
      ok: true,
      claims: { oid: idp.googleServiceAccount, scopes: [CLOUD_PLATFORM] },
    });
  });

  test("values are application/text", async () => {
    const expected: Record<string, string> = {
      "instance/service-accounts/default/email": idp.googleServiceAccount,
      "project/project-id": idp.googleProjectId,
      "universe/universe-domain": "googleapis.com",
    };
    for (const [key, value] of Object.entries(expected)) {
      const response = await rawRequest(idp, metadataUrl(key), { headers: flavor });
      expect(response).toMatchObject({ status: 200, body: value });
      expect(response.headers).toMatchObject({
        "content-type": "application/text",
        "metadata-flavor": "Google",
      });
    }
    const ping = await rawRequest(idp, metadataUrl("instance"), { headers: flavor });
    expect(ping.status).toBe(200);
    expect(ping.body).toContain("service-accounts/");
  });

  test("without Metadata-Flavor: Google, 403 (and no token)", async () => {
    const issued = idp.stats().tokensIssued;
    const forbidden = requests("forbidden");
    for (const headers of [{}, { "Metadata-Flavor": "google" }]) {
      const response = await rawRequest(
        idp,
        metadataUrl("instance/service-accounts/default/token"),
        {
          headers,
        },
      );
      expect(response.status).toBe(403);
      expect(response.headers["metadata-flavor"]).toBe("Google");
      expect(response.headers["content-type"]).toMatch(/^text\/plain/);
      expect(response.body).toContain("Missing Metadata-Flavor:Google header.");
    }
    expect(requests("forbidden")).toBe(forbidden + 2);
    expect(idp.stats().tokensIssued).toBe(issued);
  });

  test("an unknown service account or key is 404; a POST is 405", async () => {
    const notFound = requests("not_found");
    const unknownAccount = await rawRequest(
      idp,
      metadataUrl("instance/service-accounts/someone@else.iam.gserviceaccount.com/token"),
      { headers: flavor },
    );
    expect(unknownAccount.status).toBe(404);
    const unknownKey = await rawRequest(idp, metadataUrl("instance/no-such-key"), {
      headers: flavor,
    });
    expect(unknownKey.status).toBe(404);
    expect(requests("not_found")).toBe(notFound + 2);
    const post = await rawRequest(idp, metadataUrl("instance/service-accounts/default/token"), {
      method: "POST",
      headers: flavor,
    });
    expect(post.status).toBe(405);
  });

  test("issueGoogleAccessToken signs straight, uncounted, for any service account and lifetime", () => {
    const before = idp.stats();
    const token = idp.issueGoogleAccessToken({
      serviceAccount: "job@emulator-project.iam.gserviceaccount.com",
      lifetimeMs: 10_000,
    });
    const verified = idp.verifyGoogleAccessToken(token);
    expect(verified).toMatchObject({
      ok: true,
      claims: { oid: "job@emulator-project.iam.gserviceaccount.com", scopes: [CLOUD_PLATFORM] },
    });
    expect(idp.stats().tokensIssued).toBe(before.tokensIssued);
    const byDefault = idp.verifyGoogleAccessToken(idp.issueGoogleAccessToken());
    expect(byDefault.ok && byDefault.claims.oid).toBe(idp.googleServiceAccount);
    expect(() => idp.issueGoogleAccessToken({ lifetimeMs: 10 })).toThrow(
      expect.objectContaining({ option: "lifetimeMs" }),
    );
    expect(() => idp.issueGoogleAccessToken({ serviceAccount: "nobody" })).toThrow(
      expect.objectContaining({ option: "serviceAccount" }),
    );
  });
});

describe("faults at the metadata token endpoint", () => {
  test("failNext(3, 503) is absorbed by the library's three retries", async () => {
    const [failed, ok] = [requests("failed"), requests("ok")];
    idp.faults.failNext(3, 503);
    await accessToken();
    expect(requests("failed")).toBe(failed + 3);
    expect(requests("ok")).toBe(ok + 1);
  });

  test("failNext(1, 403) fails the refresh at once (a 4xx is not retried)", async () => {
    const failed = requests("failed");
    idp.faults.failNext(1, 403);
    const error = await failureOf(client.getAccessToken());
    expect(error.message).toMatch(/Could not refresh access token/);
    expect(error.status).toBe(403);
    expect(requests("failed")).toBe(failed + 1);
    // The next request is healthy again.
    await accessToken();
  });

  test("an outage fails the refresh after the retries; detection and the other values stay up", async () => {
    const outage = requests("outage");
    idp.faults.outage();
    const error = await failureOf(client.getAccessToken());
    expect(error.message).toMatch(/Could not refresh access token/);
    expect(error.status).toBe(503);
    expect(requests("outage")).toBe(outage + 4);
    const email = await rawRequest(idp, metadataUrl("instance/service-accounts/default/email"), {
      headers: flavor,
    });
    expect(email.status).toBe(200);
    const response = await rawRequest(idp, metadataUrl("instance/service-accounts/default/token"), {
      headers: flavor,
    });
    expect(response.status).toBe(503);
    expect(response.headers["metadata-flavor"]).toBe("Google");
    expect(response.headers["content-type"]).toMatch(/^text\/plain/);
    expect(response.body).toMatch(/Service Unavailable/);
  });

  test("throttle answers 429 with Retry-After, in plain text", async () => {
    idp.faults.throttle(7);
    const response = await rawRequest(idp, metadataUrl("instance/service-accounts/default/token"), {
      headers: flavor,
    });
    expect(response.status).toBe(429);
    expect(response.headers["retry-after"]).toBe("7");
    expect(response.body).toMatch(/Too Many Requests: retry after 7 seconds/);
    expect(requests("throttled")).toBeGreaterThanOrEqual(1);
  });

  test("a hung token request stays unanswered; dropped by another fault, the refresh fails", async () => {
    const hung = requests("hung");
    idp.faults.hang();
    let settled = false;
    const refresh = failureOf(client.getAccessToken()).finally(() => {
      settled = true;
    });
    while (requests("hung") === hung) await sleep(10);
    await sleep(300);
    expect(settled).toBe(false);
    // Leaving hang drops the held request: the library retries into the outage, and gives up.
    idp.faults.outage();
    const error = await refresh;
    expect(error.message).toMatch(/Could not refresh access token/);
    expect(requests("outage")).toBeGreaterThanOrEqual(1);
  });

  test("a hung request that restore() drops is retried, and gets a token", async () => {
    const hung = requests("hung");
    idp.faults.hang();
    const refresh = accessToken();
    while (requests("hung") === hung) await sleep(10);
    idp.faults.restore();
    const { claims } = await refresh;
    expect(claims.oid).toBe(idp.googleServiceAccount);
  });

  test("latency delays the answer", async () => {
    idp.faults.latency(400);
    const { before, after } = await accessToken();
    expect(after - before).toBeGreaterThanOrEqual(400);
  });
});
