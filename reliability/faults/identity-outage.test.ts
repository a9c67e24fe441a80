import { describeErrors } from "@redis-credentials/test-helpers";
import {
  alignRotations,
  type FaultClient,
  faultEnvironmentBeforeAll,
  forEachClient,
  reportWorkload,
  sleepUntil,
  startClients,
  startWorkload,
} from "./harness";

// The identity provider stops answering (503) across every client's scheduled refresh, and comes
// back while the tokens they hold still have seconds to live: nobody notices but the manager,
// which retries at the pace its backoff policy allows, no faster.
const LIFETIME_MS = 12_000;
const RETRY = { initialDelayMs: 200, maxDelayMs: 1_000 };

const environment = faultEnvironmentBeforeAll();

test("an identity-provider outage shorter than the tokens' remaining life: no failed command, retries within the backoff policy", async () => {
  const env = environment();
  const clients = await startClients(env, {
    lifetimeMs: LIFETIME_MS,
    // Refresh at half life (6 s), so a fresh token has 6 s left when its refresh fails.
    manager: { refreshBeforeExpiryMs: 6_000, retry: RETRY },
  });
  try {
    const workloads = clients.map((client) => startWorkload(client));
    const expired: string[] = [];
    for (const client of clients) client.manager.on("expired", () => expired.push(client.label));

    const aligned = await alignRotations(clients);
    const outageAt = aligned.nextRefresh.earliest - 1_000;
    const restoreAt = aligned.nextRefresh.latest + 2_000;
    // The outage must end with seconds of the tokens' life left, or this is another case.
    expect(aligned.expiresAt.earliest - restoreAt).toBeGreaterThan(3_000);
    await sleepUntil(outageAt);
    const refusedBefore = env.idp.stats().requests.outage ?? 0;
    env.idp.faults.outage();
    const outageStart = Date.now();
    await sleepUntil(restoreAt);
    env.idp.faults.restore();
    const restoredAt = Date.now();
    const refused = (env.idp.stats().requests.outage ?? 0) - refusedBefore;
    // Until every manager has had good credentials again, and a little more work after.
    await Promise.all(clients.map((client) => untilFetchedAfter(client, restoredAt)));
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const fetchFailures = await forEachClient(clients, async (client) => {
      const workload = workloads[clients.indexOf(client)]!;
      const figures = await workload.stop();
      const during = client.source
        .attemptsSince(outageStart)
        .filter((attempt) => attempt.startedAt < restoredAt);
      const after = client.source.attemptsSince(restoredAt);
      const allowed = allowedAttempts(during[0]?.startedAt ?? restoredAt, restoredAt);
      const gaps = during.slice(1).map((attempt, i) => attempt.startedAt - during[i]!.startedAt);
      reportWorkload("identity-outage", figures, {
        failedFetches: during.length,
        allowedFetches: allowed,
        shortestGapMs: Math.min(...gaps),
      });
      expect(figures).toMatchObject({ failed: 0, lost: 0, unverified: 0 });
      expect(figures.sent).toBeGreaterThan(50);
      expect(describeErrors(client.errors)).toEqual([]);
      // The fault hit this client's refresh, every attempt during it failed, no faster than the
      // backoff floor and no more of them than the policy allows; the first attempt after it
      // brought credentials.
      expect(during.length).toBeGreaterThanOrEqual(1);
      expect(during.map((attempt) => attempt.outcome)).toEqual(during.map(() => "failed"));
      expect(during.length).toBeLessThanOrEqual(allowed);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(RETRY.initialDelayMs - 5);
      expect(after[0]?.outcome).toBe("ok");
      expect(client.manager.status()).toMatchObject({ state: "ready" });
      return during.length;
    });
    expect(expired).toEqual([]);
    // Each failed attempt was one token request: nothing else knocked on the provider's door.
    expect(fetchFailures.reduce((sum, count) => sum + count, 0)).toBe(refused);
  } finally {
    await clients.close();
  }
});

/**
 * The most attempts the retry policy allows from a first failed one at `from` to `to`: each waits
 * at least initialDelayMs after the one before.
 */
function allowedAttempts(from: number, to: number): number {
  return Math.floor((to - from) / RETRY.initialDelayMs) + 1;
}

/** Resolves once the client's manager has fetched credentials successfully after `since`. */
async function untilFetchedAfter(client: FaultClient, since: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!client.source.attemptsSince(since).some((attempt) => attempt.outcome === "ok")) {
    if (Date.now() > deadline) throw new Error(`${client.label}: no credentials after the outage`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
