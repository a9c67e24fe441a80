import { describeErrors } from "@redis-credentials/test-helpers";
import {
  alignRotations,
  faultEnvironmentBeforeAll,
  forEachClient,
  reportWorkload,
  sleepUntil,
  startClients,
  startWorkload,
  untilEveryClient,
} from "./harness";

// The identity provider accepts the token request and never answers. The manager's fetch
// timeout aborts the attempt, the next one (after the backoff) gets an answer, and no command
// notices while the token held is valid.
// Short, yet long enough for a token request over HTTPS on a loaded 2-core machine (500 ms was
// seen to time out the clients' very first fetch).
const FETCH_TIMEOUT_MS = 1_500;
// A backoff floor longer than the spread of the clients' refreshes: every client's retry comes
// after the provider answers again.
const RETRY = { initialDelayMs: 2_500, maxDelayMs: 4_000 };

const environment = faultEnvironmentBeforeAll();

test("an identity provider that hangs: the fetch timeout aborts the attempt, the next one succeeds, no failed command", async () => {
  const env = environment();
  const clients = await startClients(env, {
    // Refresh at half life (7 s): timeout and backoff take 4 s of the 7 s left.
    lifetimeMs: 14_000,
    manager: { refreshBeforeExpiryMs: 7_000, fetchTimeoutMs: FETCH_TIMEOUT_MS, retry: RETRY },
  });
  try {
    const workloads = clients.map((client) => startWorkload(client));
    const refreshFailures = clients.map((client) => {
      const failures: Error[] = [];
      client.manager.on("refreshFailed", (error) => failures.push(error));
      return failures;
    });
    const aligned = await alignRotations(clients);
    await sleepUntil(aligned.nextRefresh.earliest - 300);
    const hungBefore = env.idp.stats().requests.hung ?? 0;
    env.idp.faults.hang();
    const hangStart = Date.now();
    await untilEveryClient(
      clients,
      (client) => client.source.attemptsSince(hangStart).some((a) => a.outcome === "failed"),
      "a timed-out fetch",
    );
    const hung = (env.idp.stats().requests.hung ?? 0) - hungBefore;
    env.idp.faults.restore();
    const restoredAt = Date.now();
    await untilEveryClient(
      clients,
      (client) => client.source.attemptsSince(hangStart).some((a) => a.outcome === "ok"),
      "credentials after the hang",
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // Every client's refresh reached the provider and was held there.
    expect(hung).toBe(clients.length);
    await forEachClient(clients, async (client) => {
      const index = clients.indexOf(client);
      const figures = await workloads[index]!.stop();
      const [timedOut, next, ...rest] = client.source.attemptsSince(hangStart);
      const abortedAfterMs = timedOut!.settledAt! - timedOut!.startedAt;
      reportWorkload("identity-hang", figures, {
        abortedAfterMs,
        nextAttemptAfterMs: next ? next.startedAt - timedOut!.settledAt! : null,
      });
      expect(figures).toMatchObject({ failed: 0, lost: 0, unverified: 0 });
      expect(describeErrors(client.errors)).toEqual([]);
      // The attempt was aborted by the fetch timeout (not by restore() dropping the request).
      expect(timedOut).toMatchObject({ outcome: "failed", reason: "scheduled" });
      expect(abortedAfterMs).toBeGreaterThanOrEqual(FETCH_TIMEOUT_MS - 5);
      expect(timedOut!.settledAt!).toBeLessThanOrEqual(restoredAt);
      expect(describeErrors(refreshFailures[index]!)).toEqual([
        expect.stringMatching(/did not answer within 1500 ms \(fetchTimeoutMs\)/),
      ]);
      // The next attempt, after the backoff, brought the credentials.
      expect(next).toMatchObject({ outcome: "ok", reason: "retry" });
      expect(next!.startedAt - timedOut!.settledAt!).toBeGreaterThanOrEqual(
        RETRY.initialDelayMs - 5,
      );
      expect(rest.every((attempt) => attempt.reason === "scheduled")).toBe(true);
    });
  } finally {
    await clients.close();
  }
}, 90_000);
