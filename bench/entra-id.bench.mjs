// Benchmarks of @redis-credentials/entra-id against the identity emulator (the built packages:
// `npm run bench` at the root builds first): what entraId() adds to a getToken call, and what a
// refresh costs when MSAL has the token cached and when it must ask the token endpoint.
// Prints a table and writes bench/results/entra-id.json.

import { ClientSecretCredential } from "@azure/identity";
import { createTokenManager } from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { startIdentityEmulator } from "@redis-credentials/testing";
import { median, now, report } from "./helpers.mjs";

const idp = await startIdentityEmulator();
const credentialFor = (tokenLifetimeMs) => {
  const app = idp.registerClient({ tokenLifetimeMs });
  const credential = new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret, {
    authorityHost: idp.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: idp.ca },
  });
  return { app, credential };
};
const scope = "https://redis.azure.com/.default";
const signal = new AbortController().signal;

async function medianMs(count, run) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = now();
    await run();
    times.push(now() - started);
  }
  return median(times);
}

// 1. An hour-long token, served from MSAL's cache: getToken alone, then through entraId().
const cached = credentialFor(3_600_000);
await cached.credential.getToken(scope);
const rawCachedMs = await medianMs(2_000, () => cached.credential.getToken(scope));
const cachedSource = entraId({ credential: cached.credential });
const sourceCachedMs = await medianMs(2_000, () =>
  cachedSource.fetch({ signal, reason: "scheduled" }),
);

// 2. A token MSAL counts as expired (under 5 minutes left): every fetch reaches the token endpoint.
const fresh = credentialFor(60_000);
const freshSource = entraId({ credential: fresh.credential });
await freshSource.fetch({ signal, reason: "initial" });
const issuedBefore = idp.stats().tokensIssuedByClient[fresh.app.clientId];
const sourceFreshMs = await medianMs(300, () => freshSource.fetch({ signal, reason: "scheduled" }));
const freshRequests = idp.stats().tokensIssuedByClient[fresh.app.clientId] - issuedBefore;

// 3. 100 forced refreshes of a manager holding an hour-long token: the same token comes back from
// MSAL's cache each time, and the manager keeps its credentials (no `refreshed` event).
const held = credentialFor(3_600_000);
const manager = createTokenManager(entraId({ credential: held.credential }), {
  minRefreshIntervalMs: 1,
});
await manager.getCredentials();
let refreshedEvents = 0;
manager.on("refreshed", () => {
  refreshedEvents += 1;
});
for (let i = 0; i < 100; i++) await manager.refresh();
const heldRequests = idp.stats().tokensIssuedByClient[held.app.clientId];
await manager.dispose();
await idp.stop();

report(
  "entra-id",
  "@redis-credentials/entra-id against the identity emulator",
  [
    ["getToken, MSAL cache hit (median)", `${rawCachedMs.toFixed(3)} ms`],
    ["entraId().fetch, MSAL cache hit (median)", `${sourceCachedMs.toFixed(3)} ms`],
    ["entraId() overhead per fetch", `${(sourceCachedMs - rawCachedMs).toFixed(3)} ms`],
    ["entraId().fetch, new token over HTTPS (median)", `${sourceFreshMs.toFixed(2)} ms`],
    ["token requests for 300 fetches of near-expiry tokens", String(freshRequests)],
    ["token requests for 1 fetch + 100 forced refreshes (1 h token)", String(heldRequests)],
    ["`refreshed` events for those 100 forced refreshes", String(refreshedEvents)],
  ],
  {
    rawCachedMs,
    sourceCachedMs,
    overheadMs: sourceCachedMs - rawCachedMs,
    sourceFreshMs,
    freshRequests,
    heldRequests,
    refreshedEvents,
  },
);
