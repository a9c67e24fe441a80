import { InvalidOptionsError } from "@redis-credentials/core";
import { createClientCertificate } from "../../src/certificates";
import { Directory } from "../../src/identity-clients";
import { startIdentityEmulator } from "../../src/identity-emulator";
import { FaultController } from "../../src/identity-faults";

describe("startIdentityEmulator options", () => {
  test.each([
    [{ tokenLifetimeMs: 0 }, "tokenLifetimeMs"],
    [{ tokenLifetimeMs: 500 }, "tokenLifetimeMs"],
    [{ tokenLifetimeMs: "60000" }, "tokenLifetimeMs"],
    [{ audience: "" }, "audience"],
    [{ tenantId: "a/b" }, "tenantId"],
    [{ http: "yes" }, "http"],
    [{ lifetime: 5 }, "lifetime"],
    [{ googleServiceAccount: "" }, "googleServiceAccount"],
    [{ googleServiceAccount: "redis-client" }, "googleServiceAccount"],
    [{ googleProjectId: "My Project" }, "googleProjectId"],
    [{ googleProjectId: 42 }, "googleProjectId"],
  ])("%j is refused naming `%s`", async (options, option) => {
    const error = await startIdentityEmulator(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).option).toBe(option);
  });
});

describe("registered clients", () => {
  const tenant = "tenant";
  const endpoint = "https://127.0.0.1:1/tenant/oauth2/v2.0/token";
  const form = (fields: Record<string, string>) => new URLSearchParams(fields);

  test("a client registered without credentials gets a generated secret that authenticates", () => {
    const directory = new Directory();
    const client = directory.registerClient();
    expect(client.clientSecret).toMatch(/^[\w-]{40}$/);
    const result = directory.authenticate(
      form({ client_id: client.clientId, client_secret: client.clientSecret! }),
      tenant,
      endpoint,
    );
    expect(result).toMatchObject({ clientId: client.clientId, objectId: client.objectId });
  });

  test("a certificate-only client has no secret, and a secret never authenticates it", async () => {
    const directory = new Directory();
    const client = directory.registerClient({
      certificatePem: (await createClientCertificate()).pem,
    });
    expect(client.clientSecret).toBeUndefined();
    const result = directory.authenticate(
      form({ client_id: client.clientId, client_secret: "" }),
      tenant,
      endpoint,
    );
    expect(result).toMatchObject({ status: 401, error: "invalid_client", code: 7000215 });
  });

  test("a request without a secret or an assertion is refused with AADSTS7000218", () => {
    const directory = new Directory();
    const client = directory.registerClient();
    expect(
      directory.authenticate(form({ client_id: client.clientId }), tenant, endpoint),
    ).toMatchObject({
      status: 401,
      code: 7000218,
    });
  });

  test.each([
    [{ clientId: "" }, "clientId"],
    [{ clientSecret: 42 }, "clientSecret"],
    [{ objectId: "" }, "objectId"],
    [{ tokenLifetimeMs: -1 }, "tokenLifetimeMs"],
    [
      { certificatePem: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----" },
      "certificatePem",
    ],
    [{ secret: "x" }, "secret"],
  ])("registerClient(%j) is refused naming `%s`", (options, option) => {
    expect(() => new Directory().registerClient(options as never)).toThrow(
      expect.objectContaining({ name: "InvalidOptionsError", option }),
    );
  });

  test("managed identities: one system-assigned from the start, user-assigned ones by any id", () => {
    const directory = new Directory();
    const system = directory.registerManagedIdentity({ systemAssigned: true });
    expect(directory.findManagedIdentity()).toMatchObject(system);
    const user = directory.registerManagedIdentity({ resourceId: "/Subscriptions/S/Identity/A" });
    expect(directory.findManagedIdentity({ clientId: user.clientId })).toMatchObject(user);
    expect(directory.findManagedIdentity({ objectId: user.objectId })).toMatchObject(user);
    // ARM resource ids compare case-insensitively.
    expect(
      directory.findManagedIdentity({ resourceId: "/subscriptions/s/identity/a" }),
    ).toMatchObject(user);
    expect(directory.findManagedIdentity({ clientId: "other" })).toBeUndefined();
    expect(() => directory.registerManagedIdentity({ clientId: user.clientId })).toThrow(
      InvalidOptionsError,
    );
  });
});

describe("fault injection", () => {
  test("healthy by default; failNext counts down on the requests that get through", async () => {
    const faults = new FaultController();
    expect(await faults.decide()).toEqual({ kind: "proceed" });
    faults.failNext(2, 503);
    expect(await faults.decide()).toEqual({ kind: "fail", status: 503 });
    expect(await faults.decide()).toEqual({ kind: "fail", status: 503 });
    expect(await faults.decide()).toEqual({ kind: "proceed" });
  });

  test("outage, throttle and hang replace each other; restore clears all", async () => {
    const faults = new FaultController();
    faults.failNext(1, 500);
    faults.outage();
    expect(await faults.decide()).toEqual({ kind: "outage" });
    faults.throttle();
    expect(await faults.decide()).toEqual({ kind: "throttle", retryAfterSeconds: 5 });
    faults.hang();
    expect(await faults.decide()).toEqual({ kind: "hang" });
    faults.restore();
    // The failNext set before the modes was cleared by restore, untouched by them.
    expect(await faults.decide()).toEqual({ kind: "proceed" });
  });

  test.each([
    ["latency(-1)", (f: FaultController) => f.latency(-1), "ms"],
    ["throttle(1.5)", (f: FaultController) => f.throttle(1.5), "retryAfterSeconds"],
    ["failNext(-1, 500)", (f: FaultController) => f.failNext(-1, 500), "count"],
    ["failNext(1, 200)", (f: FaultController) => f.failNext(1, 200), "status"],
  ])("%s is refused with InvalidOptionsError", (_name, inject, option) => {
    expect(() => inject(new FaultController())).toThrow(
      expect.objectContaining({ name: "InvalidOptionsError", option }),
    );
  });
});
