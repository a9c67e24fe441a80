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

// The identity provider throttles: 429 with Retry-After. The manager's backoff alone would try
// again within 400 ms; it waits at least what the provider asked, the attempt after that gets a
// token, and no command notices while the token held is valid.
const RETRY_AFTER_SECONDS = 2;
const RETRY = { initialDelayMs: 200, maxDelayMs: 1_000 };

const environment = faultEnvironmentBeforeAll();

test("a throttling identity provider (429, Retry-After): the next attempt waits at least Retry-After, no failed command", async () => {
  const env = environment();
  const clients = await startClients(env, {
    lifetimeMs: 10_000,
    manager: { refreshBeforeExpiryMs: 5_000, retry: RETRY },
  });
  try {
    const workloads = clients.map((client) => startWorkload(client));
    const aligned = await alignRotations(clients);
    await sleepUntil(aligned.nextRefresh.earliest - 300);
    const throttledBefore = env.idp.stats().requests.throttled ?? 0;
    env.idp.faults.throttle(RETRY_AFTER_SECONDS);
    const throttleStart = Date.now();
    await untilEveryClient(
      clients,
      (client) => client.source.attemptsSince(throttleStart).some((a) => a.outcome === "failed"),
      "a throttled fetch",
    );
    // Back to normal at once: an attempt earlier than Retry-After would now succeed, so only the
    // manager's wait keeps it from coming early.
    env.idp.faults.restore();
    const throttled = (env.idp.stats().requests.throttled ?? 0) - throttledBefore;
    await untilEveryClient(
      clients,
      (client) => client.source.attemptsSince(throttleStart).some((a) => a.outcome === "ok"),
      "credentials after the throttling",
      RETRY_AFTER_SECONDS * 1_000 + 5_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    expect(throttled).toBe(clients.length);
    await forEachClient(clients, async (client) => {
      const figures = await workloads[clients.indexOf(client)]!.stop();
      const [refused, next] = client.source.attemptsSince(throttleStart);
      const waitedMs = next!.startedAt - refused!.settledAt!;
      reportWorkload("identity-throttle", figures, {
        retryAfterMs: RETRY_AFTER_SECONDS * 1_000,
        waitedMs,
      });
      expect(figures).toMatchObject({ failed: 0, lost: 0, unverified: 0 });
      expect(describeErrors(client.errors)).toEqual([]);
      expect(refused).toMatchObject({ outcome: "failed", errorName: "EmulatorTokenError" });
      expect(next).toMatchObject({ outcome: "ok", reason: "retry" });
      expect(waitedMs).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1_000 - 5);
      expect(client.manager.status()).toMatchObject({ state: "ready" });
    });
  } finally {
    await clients.close();
  }
}, 90_000);
