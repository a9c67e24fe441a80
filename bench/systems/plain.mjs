// The floor: each client library with a static password, as if tokens never expired. The token is
// fetched once, for an app whose tokens live a day, so that it outlives any scenario: what is left
// is the cost of the client itself, with nothing keeping it authenticated.

import { REDIS_SCOPE } from "../environment.mjs";
import { libraries } from "./clients.mjs";
import { openFleet } from "./fleet.mjs";

const DAY_MS = 24 * 3_600_000;

/**
 * One day-long token for the whole fleet; the user name is the app's object id (the token's
 * `oid`), which is what the token Redis expects.
 * @param {Awaited<ReturnType<typeof import("../environment.mjs").startEntraEnvironment>>} env
 */
export async function dayLongCredentials(env) {
  const app = env.registerApp({ tokenLifetimeMs: DAY_MS });
  const token = await env.credentialFor(app).getToken(REDIS_SCOPE);
  return { app, credentials: { username: app.objectId, password: token.token } };
}

/**
 * @param {keyof typeof libraries} client
 * @returns {import("./system.mjs").System}
 */
function plainSystem(client) {
  const library = libraries[client];
  return {
    name: `plain · ${client}`,
    client,
    kind: "floor",
    mode: "entra",
    async open(env, count, options = {}) {
      const { app, credentials } = options.plainCredentials ?? (await dayLongCredentials(env));
      return openFleet({
        count,
        library,
        connect: () => library.plain(env.target, credentials),
        tokenRequests: () => env.tokenRequests(app),
      });
    },
  };
}

/** ioredis with a static password. */
export const plainIoredis = plainSystem("ioredis");
/** node-redis with a static password. */
export const plainNodeRedis = plainSystem("node-redis");
/** Valkey GLIDE with a static password. */
export const plainGlide = plainSystem("valkey-glide");
/** iovalkey with a static password. */
export const plainIovalkey = plainSystem("iovalkey");
