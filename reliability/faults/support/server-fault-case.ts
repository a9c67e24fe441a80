import { rotations, SETTLE_MS, sleep, waitFor, within } from "@redis-credentials/test-helpers";
import {
  type FaultClient,
  forEachClient,
  reportWorkload,
  startWorkload,
  type Workload,
} from "../harness";
import type { AuditedEnvironment } from "./audited-environment";
import { isCredentialFailure } from "./credential-failure";
import { toleratedClosesAtExpiry } from "./known-limitations";
import { type WriteLedger, writeLedger } from "./write-ledger";

export interface ServerFaultCase {
  /** For the report lines. */
  name: string;
  environment: AuditedEnvironment;
  clients: readonly FaultClient[];
  /** Injects the fault and resolves once the servers are back to normal. */
  fault(): Promise<void>;
  /** Whether `key` of `client` lived on a node the fault restarted (erasing it: no persistence). */
  restarted?(client: FaultClient, key: string): boolean;
  /** Every connection the client had before the fault must have been replaced. @default false */
  everyConnectionDropped?: boolean;
}

/** How long each client must then run without a failed command. */
const CLEAN_TAIL_MS = 1_500;

/**
 * Runs the harness's workload on every client, injects the fault, waits until every client serves
 * commands again and has rotated once more, then checks each client at once (failures name it):
 * no acknowledged write lost (read back), no command failed for credentials, no AUTH refused and
 * no connection closed at expiry for its user, no `expired` event, every connection it has now
 * holding a valid token, and none of its commands failing once it had recovered.
 */
export async function runServerFault(run: ServerFaultCase): Promise<void> {
  const { clients, environment } = run;
  const ledgers = new Map<FaultClient, WriteLedger>();
  const workloads = new Map<FaultClient, Workload>();
  const expiredEvents = new Map<FaultClient, number>();
  for (const client of clients) {
    const ledger = writeLedger(client);
    ledgers.set(client, ledger);
    workloads.set(client, startWorkload(ledger.client));
    expiredEvents.set(client, 0);
    client.manager.on("expired", () => expiredEvents.set(client, expiredEvents.get(client)! + 1));
  }
  const workload = (client: FaultClient) => workloads.get(client)!;
  await waitFor(
    () => clients.every((client) => workload(client).sent >= 20),
    "every workload to be running",
    15_000,
  );
  // The fault comes after a rotation: a reconnect must then present the rotated token, not the
  // one the client connected with.
  await forEachClient(clients, (client) =>
    within(rotations(client.manager, 1), 10_000, "a rotation before the fault"),
  );
  const connectionsBefore = new Map(
    clients.map((client) => [client, new Set(client.connections().map(({ id }) => id))]),
  );
  const acceptedBefore = new Map(
    clients.map((client) => [client, environment.audit.of(client.user).accepted]),
  );
  const faultAt = Date.now();
  await run.fault();
  const restoredAt = Date.now();
  await forEachClient(clients, (client) =>
    waitFor(
      () => workload(client).firstSuccessAfter(restoredAt) !== undefined,
      "its first command to succeed after the fault",
      20_000,
    ),
  );
  // Recovered clients go on rotating: two more rotations each (a token's life: a connection
  // reopened during the fault and left off the rotations would be closed at expiry by then),
  // then a clean stretch.
  await forEachClient(clients, (client) =>
    within(rotations(client.manager, 2), 15_000, "two rotations after the fault"),
  );
  await sleep(SETTLE_MS);
  const cleanFrom = Date.now();
  await sleep(CLEAN_TAIL_MS);

  await forEachClient(clients, async (client) => {
    const ledger = ledgers.get(client)!;
    const load = workload(client);
    const now = Date.now();
    const connections = client.connections();
    const before = connectionsBefore.get(client)!;
    ledger.beginReadBack();
    const figures = await load.stop();
    const loss = ledger.classify((key) => run.restarted?.(client, key) ?? false);
    const audit = environment.audit.of(client.user);
    const recoveryMs = load.firstSuccessAfter(restoredAt)! - restoredAt;
    const credentialFailures = load.failures.filter(({ error }) => isCredentialFailure(error));
    const credentialErrors = client.errors.filter((error) => isCredentialFailure(error));
    reportWorkload(run.name, figures, {
      lostByClient: loss.lost.length,
      erasedByRestart: loss.erasedByRestart,
      faultMs: restoredAt - faultAt,
      recoveryMs,
      reconnected: connections.filter(({ id }) => !before.has(id)).length,
      authsAccepted: audit.accepted - acceptedBefore.get(client)!,
      closedAtExpiry: audit.closedAtExpiry,
      closedAtExpiryNeverReauthenticated: audit.closedAtExpiryNeverReauthenticated,
    });
    expect({
      lost: loss.lost,
      unverified: figures.unverified,
      // Erased by the crash means acknowledged before the node was back.
      erasedAfterRestart: (loss.lastErasedAckAt ?? 0) > restoredAt,
      credentialFailures: credentialFailures.map(({ type }) => type),
      credentialErrors: credentialErrors.map((error) => error.name),
      rejectedAuths: audit.rejected,
      closedAtExpiry: audit.closedAtExpiry - toleratedClosesAtExpiry(client, audit),
      expiredEvents: expiredEvents.get(client),
      failedAfterRecovery: load.failuresSince(cleanFrom).map(({ type }) => type),
      connected: connections.length > 0,
      heldExpiredToken: connections.filter(({ expiresAt }) => (expiresAt ?? 0) <= now).length,
      survivedTheDrop: run.everyConnectionDropped
        ? connections.filter(({ id }) => before.has(id)).length
        : 0,
    }).toEqual({
      lost: [],
      unverified: 0,
      erasedAfterRestart: false,
      credentialFailures: [],
      credentialErrors: [],
      rejectedAuths: {},
      closedAtExpiry: 0,
      expiredEvents: 0,
      failedAfterRecovery: [],
      connected: true,
      heldExpiredToken: 0,
      survivedTheDrop: 0,
    });
    // Without a restart, nothing may be missing at all.
    if (run.restarted === undefined) expect(figures.lost).toBe(0);
  });
}
