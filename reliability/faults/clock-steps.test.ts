/**
 * Issue 17, case 6: the client's wall clock is stepped (an NTP correction, a VM resumed) forward
 * 10 minutes, then back 20, while every adapter (ioredis, iovalkey, node-redis, Valkey GLIDE)
 * runs the steady workload on a standalone Redis and a 3-shard cluster at once, and the server
 * drops every connection once in each phase. The identity provider and Redis keep real time; the
 * source dates `expiresAt` by the client's clock at receipt, as identity libraries do from
 * `expires_in`. No command may fail for credentials, no connection may hold an expired token, no
 * `expired` event, and refreshes keep their pace: no burst, no stall. A regression test of the
 * manager's monotonic reading (`Clock.monotonicNow`), with which this holds.
 */
import { longestStallMs, sleep, waitFor } from "@redis-credentials/test-helpers";
import {
  type FaultClient,
  type FaultClients,
  forEachClient,
  reportWorkload,
  startClients,
  startWorkload,
  type Workload,
} from "./harness";
import { auditedEnvironmentBeforeAll } from "./support/audited-environment";
import { isCredentialFailure } from "./support/credential-failure";
import { toleratedClosesAtExpiry } from "./support/known-limitations";
import { datedByClientClock, steppingClock } from "./support/stepping-clock";

const environment = auditedEnvironmentBeforeAll({ replicasPerMaster: 0 });

const MINUTE = 60_000;
/** The wall clock's offset from real time in each phase: in step, 10 min ahead, 10 min behind. */
const PHASES = [0, 10 * MINUTE, -10 * MINUTE];
const PHASE_MS = 6_000;
const DROP_AFTER_STEP_MS = 100;
/**
 * A client serves commands again this soon after a drop (measured: 10–300 ms, up to 3 s on a
 * loaded machine). A manager that read its tokens' expiry off the wall clock would, after the
 * forward step, have held no valid token until its next refresh: the check right after each step
 * finds that at once, whatever the machine's load.
 */
const RECOVERY_MS = 10_000;
/**
 * Tokens for 6 s, dated by the client at receipt to the whole second (5 s left), renewed halfway
 * (max(5 s − 3 s, 5 s / 2), 200 ms of jitter): a refresh about every 2.5 s, two a phase.
 */
const TOKENS = { lifetimeMs: 6_000, refreshBeforeExpiryMs: 3_000 };
/**
 * Closer fetches than this are a burst (a token taken for expired is fetched again at once); as
 * far apart as the token's life at receipt (5 s), a stall: the token ran out before the refresh
 * (a refresh put off by a clock read as 10 minutes early would come minutes late).
 */
const BURST_GAP_MS = 1_000;
const STALL_GAP_MS = 5_000;

let clients: FaultClients | undefined;
afterEach(async () => {
  await clients?.close();
  clients = undefined;
});

test("the wall clock stepped 10 min forward then 20 min back, every connection dropped once a phase: no credential failure, no expired token, refreshes at their pace", async () => {
  const env = environment();
  const wall = steppingClock();
  clients = await startClients(env, {
    lifetimeMs: TOKENS.lifetimeMs,
    manager: { clock: wall.clock, refreshBeforeExpiryMs: TOKENS.refreshBeforeExpiryMs },
    wrapSource: (source) => datedByClientClock(source, wall.clock),
  });
  const expiredEvents = new Map<FaultClient, number>();
  for (const client of clients) {
    expiredEvents.set(client, 0);
    client.manager.on("expired", () => expiredEvents.set(client, expiredEvents.get(client)! + 1));
  }
  const workloads = new Map<FaultClient, Workload>(
    clients.map((client) => [client, startWorkload(client)]),
  );
  await waitFor(
    () => [...workloads.values()].every((workload) => workload.sent >= 20),
    "every workload to be running",
    15_000,
  );

  // Real-time bounds of each phase, and the connections dropped in each. The drop comes soon
  // after the step, before the next scheduled refresh: every reconnect then asks the manager for
  // the credentials it holds, which a manager reading the wall clock would take for expired (10
  // minutes ahead) or valid past their end (behind).
  const phases: { from: number; to: number; dropAt: number; dropped: number }[] = [];
  /** Clients whose manager, right after a step, no longer held the valid token it had. */
  const lostTheirToken: string[] = [];
  for (const offset of PHASES) {
    wall.step(offset - wall.offsetMs);
    const from = Date.now();
    for (const client of clients) {
      const { state } = client.manager.status();
      if (client.manager.peekCredentials() === undefined || state !== "ready") {
        lostTheirToken.push(`${client.label} at ${offset / MINUTE} min: ${state}`);
      }
    }
    await sleep(DROP_AFTER_STEP_MS);
    const dropAt = Date.now();
    const dropped =
      env.server("standalone").killConnections() + env.server("cluster").killConnections();
    await sleep(PHASE_MS - DROP_AFTER_STEP_MS);
    phases.push({ from, to: Date.now(), dropAt, dropped });
  }
  expect(wall.offsetMs).toBe(-10 * MINUTE);
  expect(lostTheirToken).toEqual([]);
  for (const { dropped } of phases) expect(dropped).toBeGreaterThanOrEqual(clients.length);

  await forEachClient(clients, async (client) => {
    const workload = workloads.get(client)!;
    const now = Date.now();
    const connections = client.connections();
    const figures = await workload.stop();
    const audit = env.audit.of(client.user);
    const fetches = client.source.attempts.filter(({ startedAt }) => startedAt >= phases[0]!.from);
    const gaps = fetches
      .slice(1)
      .map((fetch, index) => fetch.startedAt - fetches[index]!.startedAt);
    const perPhase = phases.map(
      ({ from, to }) =>
        fetches.filter(({ startedAt }) => startedAt >= from && startedAt < to).length,
    );
    const recoveries = phases.map(
      ({ dropAt }) => (workload.firstSuccessAfter(dropAt) ?? Number.NaN) - dropAt,
    );
    reportWorkload("clock-steps", figures, {
      refreshesPerPhase: perPhase,
      shortestGapMs: Math.min(...gaps),
      longestGapMs: Math.max(...gaps),
      recoveryMsPerDrop: recoveries.map(Math.round),
      closedAtExpiry: audit.closedAtExpiry,
      closedAtExpiryNeverReauthenticated: audit.closedAtExpiryNeverReauthenticated,
      longestEventLoopStallMs: longestStallMs(),
    });
    expect({
      lost: figures.lost,
      unverified: figures.unverified,
      credentialFailures: workload.failures
        .filter(({ error }) => isCredentialFailure(error))
        .map(({ type }) => type),
      credentialErrors: client.errors.filter((error) => isCredentialFailure(error)).map(String),
      rejectedAuths: audit.rejected,
      closedAtExpiry: audit.closedAtExpiry - toleratedClosesAtExpiry(client, audit),
      heldExpiredToken: connections.filter(({ expiresAt }) => (expiresAt ?? 0) <= now).length,
      expiredEvents: expiredEvents.get(client),
      // Every fetch was the manager's schedule: none forced by a token it thought expired.
      unscheduledFetches: fetches.filter(({ reason }) => reason !== "scheduled").map(String),
      failedFetches: fetches.filter(({ outcome }) => outcome === "failed").length,
      bursts: gaps.filter((gap) => gap < BURST_GAP_MS),
      stalls: gaps.filter((gap) => gap >= STALL_GAP_MS),
      phasesWithoutRefresh: perPhase.filter((count) => count === 0).length,
      recoveredAfterEveryDrop: recoveries.every((ms) => ms < RECOVERY_MS),
    }).toEqual({
      lost: 0,
      unverified: 0,
      credentialFailures: [],
      credentialErrors: [],
      rejectedAuths: {},
      closedAtExpiry: 0,
      heldExpiredToken: 0,
      expiredEvents: 0,
      unscheduledFetches: [],
      failedFetches: 0,
      bursts: [],
      stalls: [],
      phasesWithoutRefresh: 0,
      recoveredAfterEveryDrop: true,
    });
  });
});
