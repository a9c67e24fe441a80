// The core token manager on its own, in real time (about 26 seconds):
//   1. four "connections" ask for credentials at once: one fetch serves them all;
//   2. every token lives 6 s, so the manager refreshes it at a jittered point ~4-4.5 s in and
//      hands the new token to each connection at its own staggered moment;
//   3. the identity provider goes down for 7 s, longer than a token lives: retries with backoff,
//      `expired`, then `recovered` once it answers again;
//   4. a final status() and dispose().
// Tokens are never printed whole: only a short hash ("fingerprint") of each.
import { createHash, randomBytes } from "node:crypto";
import diagnosticsChannel from "node:diagnostics_channel";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CredentialsExpiredError,
  createTokenManager,
  credentialsFromJwt,
  diagnosticsChannels,
} from "@redis-credentials/core";

const TOKEN_LIFETIME_MS = 6_000;
// Relative to the start. The token fetched at ~8.5 s expires at ~14.5-15.5 s, inside the outage.
const OUTAGE = { fromMs: 11_000, untilMs: 18_000 };
const DEMO_LENGTH_MS = 26_000;

const start = Date.now();
const at = (epochMs) => `+${((epochMs - start) / 1000).toFixed(2)}s`;
const log = (message) => console.log(`[${at(Date.now()).padStart(7)}] ${message}`);
const fingerprint = (token) => createHash("sha256").update(token).digest("hex").slice(0, 8);

// --- a local identity provider ------------------------------------------------------------

const base64url = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A JWT-shaped token (unsigned: only the Redis server would verify it, and there is none here). */
function mintToken() {
  const claims = {
    oid: "demo-service-principal",
    // Real identity providers use whole seconds; a fractional `exp` keeps the demo's 6 s exact.
    exp: (Date.now() + TOKEN_LIFETIME_MS) / 1000,
  };
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.${randomBytes(16).toString("base64url")}`;
}

/** @type {import("@redis-credentials/core").CredentialSource} */
const source = {
  name: "demo-idp",
  async fetch({ signal }) {
    // A network round trip that, like every well-behaved source, stops when the manager aborts.
    await sleep(120, undefined, { signal });
    const elapsed = Date.now() - start;
    if (elapsed >= OUTAGE.fromMs && elapsed < OUTAGE.untilMs) {
      // A plain Error is retried; markPermanent(error) would stop the retries instead.
      throw new Error("identity provider unavailable (HTTP 503)");
    }
    // The token is the password, `exp` the expiry, the `oid` claim the user name.
    return credentialsFromJwt(mintToken());
  },
};

// --- the manager, with options scaled down from minutes to seconds ---------------------------

const options = {
  refreshBeforeExpiryMs: 0, // the default (5 min) would be longer than the whole token
  minRefreshIntervalMs: 1_000,
  refreshJitterMs: 500,
  fetchTimeoutMs: 2_000,
  reauthSpreadMs: 800,
  retry: { initialDelayMs: 200, maxDelayMs: 1_500, multiplier: 2 },
};
const manager = createTokenManager(source, options);

// --- observability: diagnostics channels ----------------------------------------------------
// Any part of a process (an APM agent, a logger) can listen here without a reference to the
// manager. No message carries a token.

let lastAttempt = 0;
diagnosticsChannel.subscribe(diagnosticsChannels.fetch, (message) => {
  lastAttempt = message.attempt;
  log(
    `fetch (reason: ${message.reason}${message.reason === "retry" ? `, #${message.attempt}` : ""})`,
  );
});

let fanOutStartedAt = 0;
diagnosticsChannel.subscribe(diagnosticsChannels.fanOut, (message) => {
  fanOutStartedAt = Date.now();
  log(
    message.spreadMs === 0
      ? `fan-out to ${message.subscribers} connections at once (the old token had expired: nothing to wait for)`
      : `fan-out to ${message.subscribers} connections, staggered over ${Math.round(message.spreadMs)} ms`,
  );
});

// --- observability: events -------------------------------------------------------------------

manager.on("refreshed", (event) => {
  const token = manager.peekCredentials()?.password ?? "";
  const { earliest, latest } = event.refreshWindow;
  log(
    `new token ${fingerprint(token)} for ${event.username} (reason: ${event.reason}), expires ${at(event.expiresAt)}`,
  );
  log(
    `  refresh scheduled ${at(event.nextRefreshAt)}, drawn from the jitter window [${at(earliest)}, ${at(latest)}]`,
  );
});

manager.on("refreshFailed", (error) => {
  const { nextRefreshAt } = manager.status();
  const { initialDelayMs, maxDelayMs, multiplier } = options.retry;
  const ceiling = Math.min(maxDelayMs, initialDelayMs * multiplier ** (lastAttempt + 1));
  const held = manager.peekCredentials();
  log(`  failed: ${error.cause?.message ?? error.message}`);
  log(
    `  retry in ${Math.round(nextRefreshAt - Date.now())} ms (backoff drawn from [${initialDelayMs}, ${ceiling}] ms); ` +
      (held
        ? `connections keep ${fingerprint(held.password)} (${held.expiresAt - Date.now()} ms left)`
        : "no valid token"),
  );
});

manager.on("expired", (event) => {
  log(
    `EXPIRED at ${at(event.expiredAt)}: no replacement yet (last error: ${event.lastError?.name})`,
  );
  // A connection opened now waits for the next attempt, and hears of its failure.
  manager.getCredentials().then(
    (credentials) => log(`  new connection got ${fingerprint(credentials.password)}`),
    (error) =>
      log(
        `  new connection: getCredentials() waited for the next attempt and got ${
          error instanceof CredentialsExpiredError ? "CredentialsExpiredError" : error.name
        }`,
      ),
  );
});

manager.on("recovered", (event) => {
  log(`RECOVERED after ${event.downtimeMs} ms without valid credentials`);
});

// --- the "connections" ------------------------------------------------------------------------

const connections = ["conn-1", "conn-2", "conn-3", "conn-4"];

log(
  `demo: tokens live ${TOKEN_LIFETIME_MS / 1000} s; the identity provider is down from ${at(start + OUTAGE.fromMs)} to ${at(start + OUTAGE.untilMs)}`,
);

// Concurrent callers before the first fetch share it: one fetch, four AUTHs.
const initial = await Promise.all(connections.map(() => manager.getCredentials()));
initial.forEach((credentials, i) => {
  log(`${connections[i]} AUTH with ${fingerprint(credentials.password)}`);
});

// Subscribers hear only of tokens that replace the one they already have.
for (const name of connections) {
  manager.subscribe((credentials) => {
    log(
      `  ${name} re-AUTH with ${fingerprint(credentials.password)} (+${Date.now() - fanOutStartedAt} ms into the fan-out)`,
    );
  });
}

// The manager's timers are unref'd (they never keep a process alive), so the demo holds on here.
await sleep(DEMO_LENGTH_MS - (Date.now() - start));

const status = manager.status();
log("status():");
console.log(
  `    state ${status.state}, user ${status.username}, token expires ${at(status.expiresAt)}, ` +
    `next refresh ${at(status.nextRefreshAt)}, last change ${at(status.lastRefreshAt)}`,
);
console.log(
  `    fetches ${status.counters.fetches}, failures ${status.counters.failures}, ` +
    `refreshes ${status.counters.refreshes}, subscribers ${status.counters.subscribers}, ` +
    `lastError ${status.lastError?.name ?? "none"}`,
);

await manager.dispose(); // cancels the refresh and expiry timers; the process can now exit
log(`disposed (state: ${manager.status().state})`);
