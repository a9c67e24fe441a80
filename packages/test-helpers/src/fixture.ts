import {
  type CredentialSource,
  createTokenManager,
  credentialsFromJwt,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import {
  type ClusterOptions,
  createTokenIssuer,
  startTokenRedis,
  type TokenCluster,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";

export const TOKEN_LIFETIME_MS = 3_000;

/**
 * Manager options scaled to tokens that live a few seconds, so a test sees a rotation about
 * every 2 s: refresh 1 s before expiry, a 200 ms jitter window, AUTHs spread over 200 ms.
 */
export const fastRotation: TokenManagerOptions = {
  refreshBeforeExpiryMs: 1_000,
  minRefreshIntervalMs: 200,
  refreshJitterMs: 200,
  reauthSpreadMs: 200,
  retry: { initialDelayMs: 50, maxDelayMs: 500 },
};

export interface FixtureOptions {
  /** @default false */
  tls?: boolean;
  cluster?: ClusterOptions;
  issuer?: TokenIssuer;
}

/**
 * A token-enforcing Redis and what a test needs to get tokens for it. How a client reaches it
 * (its options) depends on the client library: each adapter's helpers add that.
 */
export interface Fixture {
  issuer: TokenIssuer;
  server: TokenRedis;
  objectId: string;
  /** A source for `objectId`: tokens living `lifetimeMs` (default TOKEN_LIFETIME_MS). */
  source(lifetimeMs?: number): CredentialSource;
  manager(options?: TokenManagerOptions & { lifetimeMs?: number }): TokenManager;
  /** Stops managers made by `manager()` and the server. */
  stop(): Promise<void>;
}

let objectIds = 0;

/**
 * A token-enforcing Redis (standalone by default) plus everything a test needs to reach it. Its
 * tokens come from `issuer` when given (several fixtures can share one: creating an issuer
 * generates an RSA key pair synchronously), else from an issuer of its own.
 */
export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const issuer = options.issuer ?? createTokenIssuer();
  const server = await startTokenRedis({
    identity: issuer,
    tls: options.tls ?? false,
    ...(options.cluster && { cluster: options.cluster }),
  });
  const objectId = `00000000-0000-4000-8000-${String(++objectIds).padStart(12, "0")}`;
  const managers: TokenManager[] = [];
  const source = (lifetimeMs = TOKEN_LIFETIME_MS): CredentialSource => ({
    name: "test-issuer",
    fetch: async () => credentialsFromJwt(issuer.issueToken({ objectId, lifetimeMs })),
  });
  return {
    issuer,
    server,
    objectId,
    source,
    manager({ lifetimeMs, ...managerOptions } = {}) {
      const manager = createTokenManager(source(lifetimeMs), {
        ...fastRotation,
        ...managerOptions,
      });
      managers.push(manager);
      return manager;
    },
    async stop() {
      await Promise.all(managers.map((manager) => manager.dispose()));
      await server.stop();
    },
  };
}

/**
 * Fixtures started before a file's tests, one per test, all trusting one token issuer: creating
 * an issuer generates an RSA key pair synchronously (up to a second or more on a loaded machine),
 * which, done by a test starting late, would stall the event loop of every test already running
 * in the same worker and make their AUTHs late. Each test takes its own and stops it; whatever is
 * left is stopped after the file.
 */
export function fixturesBeforeAll(count: number): { take(): Fixture } {
  const ready: Fixture[] = [];
  const all: Fixture[] = [];
  beforeAll(async () => {
    const issuer = createTokenIssuer();
    // CI retries a failed test once (RC_RETRY_ONCE, jest.setup.cjs): a spare for its retry.
    const spares = process.env.RC_RETRY_ONCE === "1" ? 1 : 0;
    const started = await Promise.allSettled(
      Array.from({ length: count + spares }, () => startFixture({ issuer })),
    );
    for (const result of started) if (result.status === "fulfilled") all.push(result.value);
    ready.push(...all);
    for (const result of started) if (result.status === "rejected") throw result.reason;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(all.map((fixture) => fixture.stop()));
  });
  return {
    take() {
      const fixture = ready.shift();
      if (fixture === undefined) throw new Error(`only ${all.length} fixtures were started`);
      return fixture;
    },
  };
}

/** The cluster of a fixture started with `startFixture({ cluster })`. */
export function clusterOf(fixture: Fixture): TokenCluster {
  return fixture.server as TokenCluster;
}
