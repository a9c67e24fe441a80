// Azure's ioredis sample as users copy it: a credential and a token per client, plain ioredis
// with the token as its password, and the sample's timer (azure-sample-pattern.mjs).

import { Redis } from "ioredis";
import { REDIS_SCOPE } from "../environment.mjs";
import { keepTokenFresh } from "./azure-sample-pattern.mjs";
import { openFleet } from "./fleet.mjs";

const ignore = () => {};

/**
 * Opens one client the sample's way: a credential and a token of its own, the token as the
 * password, and the sample's timer.
 * @param {Awaited<ReturnType<typeof import("../environment.mjs").startEntraEnvironment>>} env
 * @param {{ objectId: string }} app
 * @param {Set<() => void>} stops
 */
async function sampleClient(env, app, stops) {
  const credential = env.credentialFor(app); // the sample makes one per client
  const username = app.objectId; // the sample decodes the token's oid claim: the same id
  const token = await credential.getToken(REDIS_SCOPE);
  const redis = new Redis({ ...env.target, username, password: token.token, lazyConnect: true });
  redis.on("error", ignore);
  await redis.connect();
  stops.add(keepTokenFresh(redis, credential, { username, token }));
  return redis;
}

/** Azure's ioredis sample. @type {import("./system.mjs").System} */
export const system = {
  name: "Azure sample · ioredis",
  client: "ioredis",
  kind: "alternative",
  mode: "entra",
  async open(env, count) {
    const app = env.registerApp(); // one app for the fleet, one credential per client
    const stops = new Set();
    return openFleet({
      count,
      library: { name: "ioredis", close: (redis) => redis.disconnect() },
      connect: () => sampleClient(env, app, stops),
      tokenRequests: () => env.tokenRequests(app),
      cleanup: () => {
        for (const stop of stops) stop();
      },
    });
  },
};
