import {
  type Fixture as ClientIndependentFixture,
  type FixtureOptions,
  startFixture as startClientIndependentFixture,
} from "@redis-credentials/test-helpers";
import * as clientModule from "ioredis";
import { Redis, type RedisOptions } from "ioredis";

// What does not depend on the client library comes from @redis-credentials/test-helpers.
export {
  fastRotation,
  rotations,
  sleep,
  TOKEN_LIFETIME_MS,
} from "@redis-credentials/test-helpers";

/**
 * Whether `ioredis` is iovalkey here: the `integration-iovalkey` jest project maps it there (only
 * iovalkey exports `Valkey`).
 */
export const iovalkey = "Valkey" in clientModule;

/**
 * The ioredis major under test: the `integration-ioredis5` jest project maps `ioredis` to 5.x.
 * iovalkey, a fork of ioredis 5 (RESP2 only), counts as 5.
 */
export const ioredisMajor: 5 | 6 =
  new Redis({ lazyConnect: true }).options.protocol === undefined ? 5 : 6;

/** The client library under test, for test names and reports. */
export const clientName = iovalkey ? "iovalkey" : `ioredis ${ioredisMajor}`;

/** The folder in packages/ioredis/node_modules that holds the client library under test. */
export const clientPackage = iovalkey ? "iovalkey" : ioredisMajor === 5 ? "ioredis5" : "ioredis";

/** Whether subscriber connections can re-AUTH in place (RESP3, only on ioredis 6). */
export const resp3Available = ioredisMajor === 6;

/** A fixture (see @redis-credentials/test-helpers) with the ioredis options that reach it. */
export interface Fixture extends ClientIndependentFixture {
  /** ioredis options that reach the server (TLS when the server has it). */
  redisOptions(extra?: RedisOptions): RedisOptions & { allowInsecureTransport?: boolean };
}

/**
 * A token-enforcing Redis (standalone by default) plus everything a test needs to reach it with
 * ioredis; see the client-independent `startFixture` for the options.
 */
export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const fixture = await startClientIndependentFixture(options);
  const { server } = fixture;
  return {
    ...fixture,
    redisOptions(extra = {}) {
      // The server has a CA exactly when the fixture was started with TLS.
      const transport =
        server.ca !== undefined
          ? { tls: { ca: server.ca, servername: "localhost" } }
          : { allowInsecureTransport: true };
      return { host: server.host, port: server.port, ...transport, ...extra };
    },
  };
}
