import type { TokenManager } from "@redis-credentials/core";
import type { TokenRedis } from "@redis-credentials/testing";
import { Redis, type RedisOptions } from "ioredis";
import { type BindOptions, bindCredentials, type CredentialsBinding } from "../../src";
import type { Fixture } from "./helpers";

// What does not depend on the client library comes from @redis-credentials/test-helpers.
export {
  collectErrors,
  expiredAuths,
  managerFor,
  nextRefresh,
  rejectedAuths,
  runScriptAgainst,
  type SourceMode,
  type SwitchableSource,
  switchableSource,
  WRONG_USER,
  waitFor,
} from "@redis-credentials/test-helpers";

/** Splits the fixture's options into ioredis options and the adapter's bind options. */
export function splitOptions(options: RedisOptions & { allowInsecureTransport?: boolean }): {
  redisOptions: RedisOptions;
  bindOptions: BindOptions;
} {
  const { allowInsecureTransport, ...redisOptions } = options;
  return {
    redisOptions,
    bindOptions: allowInsecureTransport === undefined ? {} : { allowInsecureTransport },
  };
}

/** A client built with `lazyConnect: true` and bound to `manager` (not connected yet). */
export function lazyBoundClient(
  fixture: Fixture,
  manager: TokenManager,
  extra: RedisOptions = {},
): { redis: Redis; binding: CredentialsBinding } {
  const { redisOptions, bindOptions } = splitOptions(
    fixture.redisOptions({ ...extra, lazyConnect: true }),
  );
  const redis = new Redis(redisOptions);
  const binding = bindCredentials(redis, manager, bindOptions);
  return { redis, binding };
}

/** The server's view of the connection whose client side is `redis` (by its local port). */
export function serverConnection(server: TokenRedis, redis: Redis) {
  const port = (redis as unknown as { stream?: { localPort?: number } }).stream?.localPort;
  return server.connections().find((connection) => connection.clientPort === port);
}
