import * as redis from "redis";

// What does not depend on the client library comes from @redis-credentials/test-helpers.
export {
  type Fixture,
  fastRotation,
  rotations,
  sleep,
  startFixture,
  TOKEN_LIFETIME_MS,
} from "@redis-credentials/test-helpers";

/** The node-redis major under test: the `integration-node-redis5` jest project maps `redis` to 5.x. */
export const nodeRedisMajor: 5 | 6 =
  (redis as { DEFAULT_RESP?: number }).DEFAULT_RESP === 3 ? 6 : 5;
