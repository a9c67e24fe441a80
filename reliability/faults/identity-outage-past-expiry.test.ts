import { CredentialsExpiredError } from "@redis-credentials/core";
import { describeErrors } from "@redis-credentials/test-helpers";
import { TimeoutError } from "redis";
import {
  alignRotations,
  type FaultClient,
  faultEnvironmentBeforeAll,
  findInCauses,
  forEachClient,
  reportWorkload,
  sleepUntil,
  startClients,
  startWorkload,
  type Workload,
} from "./harness";

// The identity provider stays down until 4 s after every client's token has expired: the server
// closes the connections at expiry, and reconnects find no valid credentials. What a user must
// see: commands that fail say why (or the client says it on its error event), none hangs, and
// once the provider is back every client recovers by itself within 5 s, losing no acknowledged
// write. Two GLIDE limitations are asserted as they are (docs/valkey-glide.md).
const LIFETIME_MS = 4_000;
const CONNECT_TIMEOUT_MS = 2_000;
const PAST_EXPIRY_MS = 4_000;
const RECOVERY_LIMIT_MS = 5_000;

const environment = faultEnvironmentBeforeAll();

test("an identity-provider outage past the tokens' expiry: failures say why, none hangs, every client recovers within 5 s", async () => {
  const env = environment();
  const clients = await startClients(env, {
    lifetimeMs: LIFETIME_MS,
    manager: { refreshBeforeExpiryMs: 2_000, retry: { initialDelayMs: 200, maxDelayMs: 1_000 } },
    // A reconnect waits this long for fresh credentials; ioredis gives up on a queued command
    // after one failed reconnect, so that its commands do fail during the outage.
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    clientOptions: { ioredis: { maxRetriesPerRequest: 1 }, iovalkey: { maxRetriesPerRequest: 1 } },
  });
  try {
    const workloads = clients.map((client) => startWorkload(client));
    const aligned = await alignRotations(clients);
    await sleepUntil(aligned.nextRefresh.earliest - 500);
    env.idp.faults.outage();
    await sleepUntil(aligned.expiresAt.latest + PAST_EXPIRY_MS);
    const closedAtExpiry = env.server("standalone").stats().closedAtExpiry;
    env.idp.faults.restore();
    const restoredAt = Date.now();
    // Every client that can recover has done so, and worked a second more (or 7 s went by).
    await untilRecovered(workloads, restoredAt, RECOVERY_LIMIT_MS + 2_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // The fault did what it is for: the standalone server closed connections at expiry.
    expect(closedAtExpiry).toBeGreaterThan(0);
    await forEachClient(clients, async (client) => {
      const workload = workloads[clients.indexOf(client)]!;
      const recoveredAt = workload.firstSuccessAfter(restoredAt);
      const recoveredAfterMs = recoveredAt === undefined ? undefined : recoveredAt - restoredAt;
      const failuresAfterRecovery = workload.failuresSince(restoredAt + RECOVERY_LIMIT_MS);
      const figures = await workload.stop();
      reportWorkload("identity-outage-past-expiry", figures, {
        recoveredAfterMs: recoveredAfterMs ?? "never",
        errorEvents: client.errors.length,
      });
      // Never a hang: every command settled within the client's own limits.
      expect(figures.failures).not.toHaveProperty("CommandHangError");
      expectFailuresSayWhy(client, workload);
      if (isGlideStandalone(client)) {
        // GLIDE's standalone client keeps reconnecting with the password its reconnect loop
        // started with, expired by now (valkey-glide #2677/#2697): it does not recover by itself.
        // Its commands fail with GLIDE's own timeouts, not hang. Should this start failing
        // because GLIDE recovers, drop this branch and the limitation in docs/valkey-glide.md.
        expect(recoveredAfterMs).toBeUndefined();
        return;
      }
      expect(recoveredAfterMs).toBeLessThanOrEqual(RECOVERY_LIMIT_MS);
      expect(
        failuresAfterRecovery.map(
          (failure) =>
            `${failure.type}: ${(failure.error as Error)?.message} at +${failure.at - restoredAt} ms`,
        ),
      ).toEqual([]);
      expect(figures).toMatchObject({ lost: 0, unverified: 0 });
    });
  } finally {
    await clients.close();
  }
}, 90_000);

function isGlideStandalone(client: FaultClient): boolean {
  return client.label === "valkey-glide/standalone";
}

/**
 * Each adapter's failures during the outage. node-redis rejects the commands themselves with the
 * typed error. ioredis's commands fail with its own MaxRetriesPerRequestError once the
 * reconnect they waited for failed; why it failed (CredentialsExpiredError, naming the source
 * and its error) is on the client's error event. GLIDE owns its commands' errors (its
 * RequestError "Connection in recovery", its TimeoutError): the adapter has no way to add a cause.
 */
function expectFailuresSayWhy(client: FaultClient, workload: Workload): void {
  const types = new Set(workload.failures.map((failure) => failure.type));
  const untyped = [...types].filter((type) => !type.includes("CredentialsExpiredError"));
  switch (client.adapter) {
    case "node-redis":
      // Its offline queue may hold every command until the credentials are back (none fails), or
      // a command may end at node-redis's own command timeout (the cluster's default is 5 s),
      // whose TimeoutError (no message, no cause) is node-redis's, like ioredis's
      // MaxRetriesPerRequestError.
      expect(
        workload.failures
          .filter((failure) => !findInCauses(failure.error, CredentialsExpiredError))
          .filter((failure) => !(failure.error instanceof TimeoutError))
          .map((failure) => `${failure.type}: ${(failure.error as Error)?.message}`),
      ).toEqual([]);
      break;
    case "ioredis":
    case "iovalkey": {
      expect(untyped.filter((type) => type !== "MaxRetriesPerRequestError")).toEqual([]);
      // A command that failed: the client said why on its error event.
      if (workload.failures.length === 0) break;
      const why = client.errors.filter((error) => findInCauses(error, CredentialsExpiredError));
      expect(describeErrors(why)).toContainEqual(
        expect.stringMatching(/No valid credentials to connect .*"emulator-i\w+-\w+".* 503/),
      );
      break;
    }
    case "valkey-glide":
      expect(
        untyped.filter((type) => !/^(RequestError|TimeoutError|ConnectionError)$/.test(type)),
      ).toEqual([]);
      break;
  }
}

/** Waits until every workload has had a success after `since`, or `timeoutMs`. */
async function untilRecovered(workloads: Workload[], since: number, timeoutMs: number) {
  const deadline = since + timeoutMs;
  while (Date.now() < deadline) {
    if (workloads.every((workload) => workload.firstSuccessAfter(since) !== undefined)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
