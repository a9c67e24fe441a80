// Redis's own answer for Entra ID: node-redis with a streaming credentials provider from
// @redis/entraid, over the same ClientSecretCredential our systems get.

import { EntraIdCredentialsProviderFactory, OID_CREDENTIALS_MAPPER } from "@redis/entraid";
import { createClient } from "redis";
import { REDIS_SCOPE } from "../environment.mjs";
import { openFleet } from "./fleet.mjs";

/** The settings of @redis/entraid's README: refresh at 80% of the lifetime, three attempts. */
const TOKEN_MANAGER_CONFIG = {
  expirationRefreshRatio: 0.8,
  retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000, backoffMultiplier: 2 },
};

/** Failures are counted where commands fail, instead of the provider's console.error. */
const ignore = () => {};

/**
 * `credential` with a count of its token requests in flight, so that close can wait for them:
 * a token arriving after the provider's token manager was stopped makes it throw from a timer
 * callback (an unhandled rejection that ends the process).
 * @param {import("@azure/identity").TokenCredential} credential
 */
function trackedCredential(credential) {
  let inFlight = 0;
  return {
    credential: {
      async getToken(...args) {
        inFlight++;
        try {
          return await credential.getToken(...args);
        } finally {
          inFlight--;
        }
      },
    },
    async settled() {
      while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      // The provider handles the token in promise callbacks: let them run before stopping it.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/**
 * One provider for the whole fleet: it keeps every subscriber in a set and hands each new token to
 * all of them (getSubscriptionsCount), with one token manager, so one provider per client would
 * only multiply token requests. Its user name mapper reads the token's `oid` claim, the user the
 * token Redis wants (OID_CREDENTIALS_MAPPER is createForDefaultAzureCredential's default; given
 * here so that it does not depend on that default).
 * @param {import("@azure/identity").TokenCredential} credential
 */
function sharedProvider(credential) {
  return EntraIdCredentialsProviderFactory.createForDefaultAzureCredential({
    credential,
    scopes: REDIS_SCOPE,
    tokenManagerConfig: TOKEN_MANAGER_CONFIG,
    credentialsMapper: OID_CREDENTIALS_MAPPER,
    onReAuthenticationError: ignore,
  });
}

/** `@redis/entraid` with node-redis. @type {import("./system.mjs").System} */
export const system = {
  name: "@redis/entraid · node-redis",
  client: "node-redis",
  kind: "alternative",
  mode: "entra",
  async open(env, count) {
    const app = env.registerApp();
    const tracked = trackedCredential(env.credentialFor(app));
    const provider = sharedProvider(tracked.credential);
    return openFleet({
      count,
      library: { name: "node-redis", close: (client) => client.destroy() },
      connect: () =>
        createClient({ socket: env.target, credentialsProvider: provider })
          .on("error", ignore)
          .connect(),
      tokenRequests: () => env.tokenRequests(app),
      // Destroying the clients is not enough: node-redis subscribes again on every reconnect
      // without disposing the previous subscription, so the provider may never see its last
      // subscriber leave, and its refresh timer (not unref'd) would keep the process alive.
      cleanup: async () => {
        await tracked.settled();
        provider.getTokenManager().stop();
      },
    });
  },
};
