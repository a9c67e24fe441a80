// The snippets of docs/testing.md that point @azure/identity at the emulator, and the fixture
// examples, run as written (imports from the sources instead of the package).
import { ClientCertificateCredential, ClientSecretCredential } from "@azure/identity";
import { createTokenManager } from "@redis-credentials/core";
import { createClientCertificate } from "../../src/certificates";
import { createFakeClock } from "../../src/fake-clock";
import { type IdentityEmulator, startIdentityEmulator } from "../../src/identity-emulator";
import { emulatorSource, scriptedSource } from "../../src/sources";

let idp: IdentityEmulator;

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: 60_000 });
});

afterAll(async () => {
  await idp.stop();
});

test("ClientSecretCredential and ClientCertificateCredential get tokens with the documented options", async () => {
  const options = {
    authorityHost: idp.authorityHost, // https://127.0.0.1:<port>
    disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
    tlsOptions: { ca: idp.ca }, // trust the emulator's CA, for this credential's requests only
  };

  const app = idp.registerClient();
  const bySecret = new ClientSecretCredential(
    idp.tenantId,
    app.clientId,
    app.clientSecret as string,
    options,
  );

  const certificate = await createClientCertificate();
  const byCertificate = idp.registerClient({ certificatePem: certificate.pem });
  const byAssertion = new ClientCertificateCredential(
    idp.tenantId,
    byCertificate.clientId,
    { certificate: certificate.pem },
    options,
  );

  const token = await bySecret.getToken("https://redis.azure.com/.default");
  const other = await byAssertion.getToken("https://redis.azure.com/.default");

  expect(idp.verifyToken(token.token, { user: app.objectId }).ok).toBe(true);
  expect(idp.verifyToken(other.token, { user: byCertificate.objectId }).ok).toBe(true);
});

test("the fake clock example: the scheduled refresh runs at its exact time", async () => {
  const clock = createFakeClock();
  const source = scriptedSource(
    [(call) => ({ username: "app", password: `token-${call.n}`, expiresAt: call.at + 3_600_000 })],
    { clock, afterLast: "repeat" },
  );
  const manager = createTokenManager(source, { clock, refreshJitterMs: 0 });
  await manager.getCredentials();
  await clock.advance(45 * 60_000);
  expect(source.calls.map((c) => c.reason)).toEqual(["initial", "scheduled"]);
  expect(clock.now()).toBe(Date.UTC(2026, 0, 1) + 45 * 60_000);
  await manager.dispose();
});

test("the scripted outage example: a failed refresh, then a slow retry", async () => {
  const clock = createFakeClock();
  const source = scriptedSource(
    [
      (call) => ({ username: "app", password: "token-1", expiresAt: call.at + 60_000 }),
      new Error("identity provider down"),
      {
        delayMs: 2_000,
        answer: (call) => ({ username: "app", password: "token-2", expiresAt: call.at + 60_000 }),
      },
    ],
    { clock },
  );
  const manager = createTokenManager(source, { clock, refreshJitterMs: 0 });
  await manager.getCredentials();
  await clock.advance(50_000);
  expect(source.calls.map((c) => c.reason)).toEqual(["initial", "scheduled", "retry"]);
  expect(manager.peekCredentials()?.password).toBe("token-2");
  await manager.dispose();
});

test("the emulatorSource example: a manager rotates 3-second tokens", async () => {
  const app = idp.registerClient({ tokenLifetimeMs: 3_000 });
  const manager = createTokenManager(
    emulatorSource(idp, { clientId: app.clientId, clientSecret: app.clientSecret as string }),
    { minRefreshIntervalMs: 100, refreshJitterMs: 100, reauthSpreadMs: 100 },
  );
  const first = await manager.getCredentials();
  const firstPassword = first.password;
  await new Promise<void>((resolve) => manager.on("refreshed", () => resolve()));
  const next = manager.peekCredentials();
  expect(next?.username).toBe(app.objectId);
  expect(next?.password).not.toBe(firstPassword);
  expect(idp.stats().tokensIssuedByClient[app.clientId]).toBe(2);
  await manager.dispose();
});
