import { isPermanent } from "@redis-credentials/core";
import { gcpIam } from "@redis-credentials/gcp-iam";
import { UserRefreshClient } from "google-auth-library";
import nock from "nock";
import {
  accessToken,
  expectNoSecrets,
  failure,
  fastRetries,
  fetchOnce,
  isolateGoogleEnvironment,
  OAUTH,
  tokenBody,
} from "../google-helpers";

// gcloud user credentials (`gcloud auth application-default login`): a refresh token of an OAuth
// client, traded for an access token at Google's token endpoint.
isolateGoogleEnvironment();

const CLIENT_ID = "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com";
const CLIENT_SECRET = "d-FL95Q19q7MQmFpd7hHD0Ty-client-secret";
const REFRESH_TOKEN = "1//0gREFRESH-TOKEN-never-to-be-printed-abcdefghijklmnop";

function userCredentials(): UserRefreshClient {
  return new UserRefreshClient({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    refreshToken: REFRESH_TOKEN,
    transporterOptions: fastRetries,
  });
}

test("a token from the refresh token; the source is named after the OAuth client", async () => {
  const token = accessToken();
  const scope = nock(OAUTH)
    .post(
      "/token",
      (body: Record<string, string>) =>
        body.grant_type === "refresh_token" &&
        body.refresh_token === REFRESH_TOKEN &&
        body.client_id === CLIENT_ID,
    )
    .reply(200, {
      ...tokenBody(token, 3_599),
      scope: "https://www.googleapis.com/auth/cloud-platform",
    });
  const source = gcpIam({ auth: userCredentials() });
  expect(source.name).toBe(`gcp-iam (gcloud user credentials (client id ${CLIENT_ID}))`);

  const before = Date.now();
  const credentials = await fetchOnce(source);
  expect(scope.isDone()).toBe(true);
  expect(credentials).toMatchObject({ username: "default", password: token });
  expect(credentials.expiresAt).toBeGreaterThanOrEqual(before + 3_599_000);
  expect(credentials.expiresAt).toBeLessThanOrEqual(Date.now() + 3_599_000);
});

test("invalid_grant (the refresh token was revoked): permanent, says to sign in again, shows no secret", async () => {
  nock(OAUTH).post("/token").reply(400, {
    error: "invalid_grant",
    error_description: "Token has been expired or revoked.",
  });
  const error = await failure(fetchOnce(gcpIam({ auth: userCredentials() })));

  expect(error.code).toBe("invalid_grant");
  expect(error.status).toBe(400);
  expect(error.retryable).toBe(false);
  expect(isPermanent(error)).toBe(true);
  expect(error.message).toContain(
    `as gcloud user credentials (client id ${CLIENT_ID}) (invalid_grant, HTTP 400)`,
  );
  expect(error.message).toContain("gcloud auth application-default login");
  expect(error.message).toContain("Token has been expired or revoked.");
  // The library's error keeps the request it sent (the refresh token in its body): not any more.
  expectNoSecrets(error, [REFRESH_TOKEN, CLIENT_SECRET]);
});

test("invalid_client (the OAuth client was deleted): permanent", async () => {
  nock(OAUTH)
    .post("/token")
    .reply(401, { error: "invalid_client", error_description: "The OAuth client was not found." });
  const error = await failure(fetchOnce(gcpIam({ auth: userCredentials() })));
  expect(error.code).toBe("invalid_client");
  expect(isPermanent(error)).toBe(true);
  expectNoSecrets(error, [REFRESH_TOKEN, CLIENT_SECRET]);
});
