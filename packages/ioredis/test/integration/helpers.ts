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
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import { Redis, type RedisOptions } from "ioredis";

/** The ioredis major under test: the `integration-ioredis5` jest project maps `ioredis` to 5.x. */
export const ioredisMajor: 5 | 6 =
  new Redis({ lazyConnect: true }).options.protocol === undefined ? 5 : 6;

/** Whether subscriber connections can re-AUTH in place (RESP3, only on ioredis 6). */
export const resp3Available = ioredisMajor === 6;

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

export interface Fixture {
  issuer: TokenIssuer;
  server: TokenRedis;
  objectId: string;
  /** A source for `objectId`: tokens living `lifetimeMs` (default TOKEN_LIFETIME_MS). */
  source(lifetimeMs?: number): CredentialSource;
  manager(options?: TokenManagerOptions & { lifetimeMs?: number }): TokenManager;
  /** ioredis options that reach the server (TLS when the server has it). */
  redisOptions(extra?: RedisOptions): RedisOptions & { allowInsecureTransport?: boolean };
  /** Stops managers made by `manager()` and the server. */
  stop(): Promise<void>;
}

let objectIds = 0;

/**
 * A token-enforcing Redis (standalone by default) plus everything a test needs to reach it. Its
 * tokens come from `issuer` when given (several fixtures can share one: creating an issuer
 * generates an RSA key pair synchronously), else from an issuer of its own.
 */
export async function startFixture(
  options: { tls?: boolean; cluster?: ClusterOptions; issuer?: TokenIssuer } = {},
): Promise<Fixture> {
  const issuer = options.issuer ?? createTokenIssuer();
  const tls = options.tls ?? false;
  const server = await startTokenRedis({
    identity: issuer,
    tls,
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
    redisOptions(extra = {}) {
      const transport =
        tls && server.ca !== undefined
          ? { tls: { ca: server.ca, servername: "localhost" } }
          : { allowInsecureTransport: true };
      return { host: server.host, port: server.port, ...transport, ...extra };
    },
    async stop() {
      await Promise.all(managers.map((manager) => manager.dispose()));
      await server.stop();
    },
  };
}

/** Resolves after `manager` has handed out `count` new credentials (the first included). */
export function rotations(manager: TokenManager, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onRefreshed = () => {
      if (++seen < count) return;
      manager.off("refreshed", onRefreshed);
      resolve();
    };
    manager.on("refreshed", onRefreshed);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
