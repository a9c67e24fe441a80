import {
  createTokenManager,
  decodeJwtClaims,
  isPermanent,
  type RedisCredentials,
} from "@redis-credentials/core";
import type { IdentityEmulator } from "../../src/identity-emulator";
import { EmulatorTokenError, emulatorSource } from "../../src/sources";
import { failureOf, useIdentityEmulator } from "./identity-helpers";

let idp: IdentityEmulator;
useIdentityEmulator({ tokenLifetimeMs: 60_000 }, (started) => {
  idp = started;
});

function fetchContext() {
  const controller = new AbortController();
  return { controller, context: { signal: controller.signal, reason: "initial" as const } };
}

describe("emulatorSource with a registered client (HTTPS token endpoint)", () => {
  test("returns the emulator's token as credentials: user name = oid, expiry = exp", async () => {
    const client = idp.registerClient({ tokenLifetimeMs: 30_000 });
    const before = idp.stats().tokensIssuedByClient[client.clientId] ?? 0;
    const source = emulatorSource(idp, {
      clientId: client.clientId,
      clientSecret: client.clientSecret as string,
    });

    const credentials = await source.fetch(fetchContext().context);

    expect(source.name).toBe("identity-emulator");
    expect(credentials.username).toBe(client.objectId);
    const claims = decodeJwtClaims(credentials.password);
    expect(credentials.expiresAt).toBe((claims.exp as number) * 1000);
    expect(credentials.expiresAt - Date.now()).toBeGreaterThan(29_000);
    expect(credentials.expiresAt - Date.now()).toBeLessThanOrEqual(30_500);
    expect(claims.appid).toBe(client.clientId);
    expect(idp.verifyToken(credentials.password, { user: credentials.username })).toMatchObject({
      ok: true,
    });
    expect(idp.stats().tokensIssuedByClient[client.clientId]).toBe(before + 1);
  });

  test("a wrong secret fails for good with the emulator's 401 invalid_client, without the secret in the error", async () => {
    const client = idp.registerClient();
    const source = emulatorSource(idp, {
      clientId: client.clientId,
      clientSecret: "not-the-secret-xyz",
    });

    const error = await failureOf(source.fetch(fetchContext().context));

    expect(error).toBeInstanceOf(EmulatorTokenError);
    expect(error).toMatchObject({ status: 401, error: "invalid_client", errorCodes: [7000215] });
    expect((error as Error).message).toContain("HTTP 401 invalid_client: AADSTS7000215");
    expect((error as Error).message).not.toContain("not-the-secret-xyz");
    expect((error as Error).message).not.toContain("Trace ID");
    expect(isPermanent(error)).toBe(true);
  });

  test("an unknown client fails for good with 400 unauthorized_client", async () => {
    const source = emulatorSource(idp, { clientId: "no-such-app", clientSecret: "s" });
    const error = await failureOf(source.fetch(fetchContext().context));
    expect(error).toMatchObject({
      status: 400,
      error: "unauthorized_client",
      errorCodes: [700016],
    });
    expect(isPermanent(error)).toBe(true);
  });

  test("throttling (with its Retry-After) and an outage fail the fetch as transient errors", async () => {
    const client = idp.registerClient();
    const source = emulatorSource(idp, {
      clientId: client.clientId,
      clientSecret: client.clientSecret as string,
    });

    idp.faults.throttle(7);
    const throttled = await failureOf(source.fetch(fetchContext().context));
    expect(throttled).toMatchObject({ status: 429, retryAfterSeconds: 7 });
    idp.faults.outage();
    const outage = await failureOf(source.fetch(fetchContext().context));
    expect(outage).toMatchObject({ status: 503, error: "temporarily_unavailable" });
    expect([isPermanent(throttled), isPermanent(outage)]).toEqual([false, false]);
    idp.faults.restore();
    await expect(source.fetch(fetchContext().context)).resolves.toMatchObject({
      username: client.objectId,
    });
  });

  test("a hung request is given up as soon as the caller aborts, with the caller's reason", async () => {
    const client = idp.registerClient();
    const source = emulatorSource(idp, {
      clientId: client.clientId,
      clientSecret: client.clientSecret as string,
    });
    idp.faults.hang();
    const { controller, context } = fetchContext();
    const pending = failureOf(source.fetch(context));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const reason = new Error("fetch timed out");
    const abortedAt = Date.now();
    controller.abort(reason);

    expect(await pending).toBe(reason);
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
  });

  test("drives a token manager through failures and rotations of short-lived tokens", async () => {
    const client = idp.registerClient({ tokenLifetimeMs: 2_000 });
    const source = emulatorSource(idp, {
      clientId: client.clientId,
      clientSecret: client.clientSecret as string,
      name: "emulator-client",
    });
    const manager = createTokenManager(source, {
      refreshJitterMs: 0,
      minRefreshIntervalMs: 100,
      reauthSpreadMs: 0,
      retry: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    const received: RedisCredentials[] = [];
    manager.subscribe(({ username, password, expiresAt }) => {
      received.push({ username, password, expiresAt });
    });
    try {
      const first = await manager.getCredentials();
      // The next two token requests fail: the manager retries and still rotates in time.
      idp.faults.failNext(2, 503);
      await waitFor(() => received.length >= 2, 8_000);

      const tokens = [first, ...received].map((c) => c.password);
      expect(new Set(tokens).size).toBe(tokens.length);
      for (const credentials of received) {
        expect(credentials.username).toBe(client.objectId);
      }
      expect(idp.stats().requests.failed).toBeGreaterThanOrEqual(2);
      const current = manager.peekCredentials() as RedisCredentials;
      expect(idp.verifyToken(current.password, { user: client.objectId }).ok).toBe(true);
    } finally {
      await manager.dispose();
    }
  });
});

describe("emulatorSource with an object id (signed directly)", () => {
  test("signs tokens for the object id with the given lifetime, without an HTTP request", async () => {
    const before = idp.stats();
    const source = emulatorSource(idp, { objectId: "service-principal-1", lifetimeMs: 5_000 });

    const credentials = await source.fetch(fetchContext().context);

    expect(credentials.username).toBe("service-principal-1");
    expect(credentials.expiresAt - Date.now()).toBeGreaterThan(4_000);
    expect(credentials.expiresAt - Date.now()).toBeLessThanOrEqual(5_500);
    expect(idp.verifyToken(credentials.password, { user: "service-principal-1" }).ok).toBe(true);
    expect(idp.stats()).toEqual(before);
  });

  test("still works during an outage (no request), and honours an aborted signal", async () => {
    idp.faults.outage();
    const source = emulatorSource(idp, { objectId: "oid-2" });
    await expect(source.fetch(fetchContext().context)).resolves.toMatchObject({
      username: "oid-2",
    });
    const { controller, context } = fetchContext();
    controller.abort(new Error("gave up"));
    await expect(source.fetch(context)).rejects.toThrow("gave up");
  });
});

test("refuses incomplete options when it is created", () => {
  expect(() => emulatorSource(idp, { clientId: "", clientSecret: "s" })).toThrow(
    expect.objectContaining({ name: "InvalidOptionsError", option: "clientId" }),
  );
  expect(() =>
    emulatorSource(idp, { clientId: "c" } as unknown as { clientId: string; clientSecret: string }),
  ).toThrow(expect.objectContaining({ option: "clientSecret" }));
  expect(() => emulatorSource(idp, { objectId: "" })).toThrow(
    expect.objectContaining({ option: "objectId" }),
  );
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
