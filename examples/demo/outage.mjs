// The identity-provider outage, injected about halfway through the run, timed to begin about a
// second before a scheduled refresh, so that the refresh (and its retries) run into it.
//
// It must be shorter than the held token's remaining life, which is the whole point: the
// manager refreshes `refreshBeforeExpiryMs` (8 s) ahead of expiry, so a 5 s outage starting
// 1 s before the refresh ends while the old token still has a few seconds left, and no
// connection ever sees an expired token.
//
// Why `hang()` and not `outage()` (HTTP 503): ClientSecretCredential (MSAL) remembers a 5xx or
// 429 answer and replays it for 60 s without asking the server again, so after a 503 outage
// the credential would go on failing for a minute and the tokens would expire. A hung request
// is different: the manager aborts each attempt after `fetchTimeoutMs`, and `restore()` drops
// the requests still held, which is a network error, not an answer MSAL throttles on.
import { setTimeout as sleep } from "node:timers/promises";

export const OUTAGE_MS = 5_000;
const LEAD_MS = 1_000; // start this long before the scheduled refresh
const MARGIN_MS = 2_000; // the held token must outlive the outage by at least this much
const RECOVERY_MS = 3_000; // time left in the run after the outage, to show the recovery

export function scheduleOutage({ faults, manager, startedAt, durationMs, log }) {
  const report = { state: "scheduled", failedAttempts: 0, startedAt: 0, endedAt: 0 };
  const controller = new AbortController();
  const { signal } = controller;
  const onFailed = () => {
    if (report.state === "on" || report.state === "recovering") report.failedAttempts++;
  };
  manager.on("refreshFailed", onFailed);

  const done = (async () => {
    // Refreshes come every 10-12 s: looking for one from 6 s before the middle of the run puts
    // the outage near the middle of a long run, and still leaves room for it in a 20 s run.
    const searchFrom = startedAt + Math.max(durationMs * 0.3, durationMs / 2 - 6_000);
    await sleep(Math.max(0, searchFrom - Date.now()), undefined, { signal });
    // Wait for the moment: ~1 s before a scheduled refresh, with enough token life left.
    for (;;) {
      const { state, nextRefreshAt, expiresAt } = manager.status();
      const now = Date.now();
      if (state === "ready" && nextRefreshAt !== undefined) {
        const start = Math.max(now, nextRefreshAt - LEAD_MS);
        if (start + OUTAGE_MS + RECOVERY_MS > startedAt + durationMs) {
          report.state = "skipped";
          log("no outage: the rest of the run is too short to show one and its recovery");
          return;
        }
        if (start === now && expiresAt - now > OUTAGE_MS + MARGIN_MS) break;
      }
      await sleep(50, undefined, { signal });
    }

    const held = manager.status().expiresAt;
    report.state = "on";
    report.startedAt = Date.now();
    faults.hang();
    log(
      `OUTAGE: the identity provider stops answering for ${OUTAGE_MS / 1000} s ` +
        `(the held token has ${((held - Date.now()) / 1000).toFixed(1)} s left)`,
    );
    await sleep(OUTAGE_MS, undefined, { signal });

    const recovered = waitForNewToken(manager, signal);
    faults.restore();
    report.state = "recovering";
    report.endedAt = Date.now();
    log("OUTAGE over: the identity provider answers again (requests it held are dropped)");
    await recovered;
    report.state = "recovered";
    report.recoveredAt = Date.now();
    log(
      `recovery: new token ${report.recoveredAt - report.endedAt} ms after the outage ended, ` +
        `${report.failedAttempts} failed attempts in all; the old token was still valid`,
    );
  })().catch((error) => {
    if (!signal.aborted) throw error;
  });

  return {
    report,
    describe() {
      switch (report.state) {
        case "on":
          return `ON for ${((Date.now() - report.startedAt) / 1000).toFixed(1)} s, ${report.failedAttempts} failed attempts`;
        case "recovering":
          return `over, ${report.failedAttempts} failed attempts, waiting for a token`;
        case "recovered":
          return `recovered ${report.recoveredAt - report.endedAt} ms after it ended`;
        default:
          return report.state;
      }
    },
    /** Stops waiting, and heals the emulator if the run ends mid-outage. */
    async cancel() {
      controller.abort();
      await done;
      manager.off("refreshFailed", onFailed);
      if (report.state === "on") faults.restore();
    },
  };
}

function waitForNewToken(manager, signal) {
  return new Promise((resolve, reject) => {
    const onRefreshed = () => {
      manager.off("refreshed", onRefreshed);
      resolve();
    };
    manager.on("refreshed", onRefreshed);
    signal.addEventListener("abort", () => {
      manager.off("refreshed", onRefreshed);
      reject(signal.reason);
    });
  });
}
