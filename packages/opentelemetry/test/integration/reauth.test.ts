/**
 * The re-AUTH counter against real parts: an ioredis client bound to a token manager whose Entra
 * ID tokens (from the identity emulator's token endpoint, over HTTPS) live 3 seconds, on a
 * token-enforcing Redis over TLS. Each rotation re-authenticates the live connection (a
 * success); then the identity's tokens name a user Redis does not know, and Redis refuses the
 * next re-AUTH (a failure).
 */
import {
  type CredentialSource,
  createCredentials,
  createTokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { createRedis } from "@redis-credentials/ioredis";
import {
  emulatorSource,
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { instrumentTokenManager, metricNames } from "../../src";
import { TestMetrics } from "../metrics-reader";

jest.setTimeout(60_000);

const TOKEN_LIFETIME_MS = 3_000;
/** A user name Redis does not know: the token verifies, but it is not the token's `oid`. */
const WRONG_USER = "00000000-0000-4000-8000-0000deadbeef";
const SOURCE_NAME = "entra-emulator";

/** Sized for 3-second tokens: a rotation about every 2 s. */
const fastRotation: TokenManagerOptions = {
  refreshBeforeExpiryMs: 1_000,
  minRefreshIntervalMs: 200,
  refreshJitterMs: 200,
  reauthSpreadMs: 200,
  retry: { initialDelayMs: 50, maxDelayMs: 500 },
};

let idp: IdentityEmulator;
let redis: TokenRedis;

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  redis = await startTokenRedis({ identity: idp }); // TLS, as on Azure
});

afterAll(async () => {
  await redis?.stop();
  await idp?.stop();
});

/** Tokens of a registered client; with `wrongUser` set, for a user name Redis refuses. */
function switchableSource() {
  const app = idp.registerClient();
  const emulator = emulatorSource(idp, {
    clientId: app.clientId,
    clientSecret: app.clientSecret as string,
    name: SOURCE_NAME,
  });
  const tokens: string[] = [];
  const source: CredentialSource & { wrongUser: boolean; tokens: string[] } = {
    name: SOURCE_NAME,
    wrongUser: false,
    tokens,
    async fetch(context) {
      const credentials = await emulator.fetch(context);
      tokens.push(credentials.password);
      if (!source.wrongUser) return credentials;
      return createCredentials({
        username: WRONG_USER,
        password: credentials.password,
        expiresAt: credentials.expiresAt,
      });
    },
  };
  return source;
}

/** Polls `check` until it holds; fails after `timeoutMs` naming what it waited for. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("re-AUTHs are counted: a success at each rotation, a failure when Redis refuses the token", async () => {
  const source = switchableSource();
  const manager = createTokenManager(source, fastRotation);
  const testMetrics = new TestMetrics();
  const handle = instrumentTokenManager(manager, { meterProvider: testMetrics.provider });
  const client = await createRedis(manager, {
    host: redis.host,
    port: redis.port,
    tls: { ca: redis.ca, servername: "localhost" },
  });
  client.on("error", () => {}); // the refusals at the end, reported by the adapter
  const reauths = (outcome: "success" | "failure") =>
    testMetrics.total(metricNames.reauth, { outcome });
  try {
    await eventually(async () => (await reauths("success")) >= 2, "two re-AUTHs");
    expect(await client.ping()).toBe("PONG");
    expect(await reauths("failure")).toBe(0);
    expect(
      await testMetrics.total(metricNames.refreshes, { outcome: "success" }),
    ).toBeGreaterThanOrEqual(3);
    const [remaining] = await testMetrics.gauge(metricNames.remaining);
    expect(remaining?.attributes).toEqual({ source: SOURCE_NAME });
    expect(remaining?.value).toBeGreaterThan(0);
    // A token's `exp` is in whole seconds: up to a second more than its lifetime.
    expect(remaining?.value).toBeLessThanOrEqual(TOKEN_LIFETIME_MS / 1_000 + 1);

    // The identity loses its access: the next rotation's re-AUTH is refused.
    source.wrongUser = true;
    await eventually(async () => (await reauths("failure")) >= 1, "a refused re-AUTH");
    expect(redis.stats().authRejected.user ?? 0).toBeGreaterThanOrEqual(1);

    const points = await testMetrics.numbers(metricNames.reauth);
    for (const point of points) {
      expect(point.attributes).toEqual({ outcome: point.attributes.outcome, source: SOURCE_NAME });
    }
    const everything = JSON.stringify(await testMetrics.collect());
    expect(source.tokens.length).toBeGreaterThanOrEqual(4);
    for (const token of source.tokens) expect(everything.includes(token)).toBe(false);
    expect(everything).not.toContain(WRONG_USER);
  } finally {
    client.disconnect();
    handle.dispose();
    await manager.dispose();
    await testMetrics.shutdown();
  }
});
