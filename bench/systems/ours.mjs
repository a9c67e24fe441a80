// Ours against Entra ID: each client library bound with our adapter to a token manager over
// @redis-credentials/entra-id, the credential a real ClientSecretCredential of the emulator.

import { createTokenManager } from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { libraries } from "./clients.mjs";
import { openFleet } from "./fleet.mjs";

/**
 * A manager of ours over a new app, so that its token requests are counted apart: a fleet's own,
 * or one a scenario shares between fleets.
 * @param {Awaited<ReturnType<typeof import("../environment.mjs").startEntraEnvironment>>} env
 * @param {import("@redis-credentials/core").TokenManagerOptions} [managerOptions]
 */
export function oursManager(env, managerOptions) {
  const app = env.registerApp();
  const source = entraId({ credential: env.credentialFor(app) });
  // Why each fetch happened: a scheduled refresh is the token's life, anything else an event's.
  const unscheduled = { count: 0 };
  const counted = {
    name: source.name,
    fetch(context) {
      if (context.reason !== "scheduled") unscheduled.count += 1;
      return source.fetch(context);
    },
  };
  return { app, manager: createTokenManager(counted, managerOptions), unscheduled };
}

/**
 * @param {keyof typeof libraries} client
 * @returns {import("./system.mjs").System}
 */
function oursSystem(client) {
  const library = libraries[client];
  return {
    name: `ours · ${client}`,
    client,
    kind: "ours",
    mode: "entra",
    async open(env, count, options = {}) {
      // A shared manager's tokens are not this fleet's alone to count, nor its to dispose.
      const own = options.manager ? undefined : oursManager(env, options.managerOptions);
      const manager = options.manager ?? own.manager;
      return openFleet({
        count,
        library,
        connect: () => library.bound(manager, env.target),
        tokenRequests: () => (own ? env.tokenRequests(own.app) : undefined),
        unscheduledFetches: () => own?.unscheduled.count,
        cleanup: () => own?.manager.dispose(),
      });
    },
  };
}

/** Ours with ioredis (`@redis-credentials/ioredis` createRedis). */
export const oursIoredis = oursSystem("ioredis");
/** Ours with node-redis (`@redis-credentials/node-redis` createClient + connect). */
export const oursNodeRedis = oursSystem("node-redis");
/** Ours with Valkey GLIDE (`@redis-credentials/valkey-glide` createGlideClient). */
export const oursGlide = oursSystem("valkey-glide");
/** Ours with iovalkey (`@redis-credentials/iovalkey` createRedis). */
export const oursIovalkey = oursSystem("iovalkey");
