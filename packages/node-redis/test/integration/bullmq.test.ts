/**
 * BullMQ on node-redis: BullMQ 6 takes a node-redis client as `connection` (it recognises one by
 * its `sendCommand`, `isOpen` and `isReady`, and wraps it in its own node-redis backend). A Queue
 * and a Worker on clients from createClient — the Worker's own connection and its blocking
 * connection come from `duplicate()`, which keeps the adapter — process a stream of 500 jobs
 * across rotations with none lost, failed, stalled or completed twice, and the server never closes
 * one of their connections at expiry.
 */
import { type ConnectionOptions, Queue, Worker } from "bullmq";
import { createClient } from "../../src";
import { sleep, startFixture } from "./helpers";
import {
  clientOptions,
  closeClient,
  collectErrors,
  describeErrors,
  report,
  waitFor,
} from "./load-helpers";

const JOBS = 500;
const MIN_ROTATIONS = 5;
/**
 * Tokens of 4 s refreshed halfway: a rotation about every 2 s, each 2 s before the old token's
 * expiry.
 */
const MANAGER_OPTIONS = { lifetimeMs: 4_000, refreshBeforeExpiryMs: 2_000 };

test(`a Queue and a Worker (concurrency 10) on createClient connections process ${JOBS} jobs across ${MIN_ROTATIONS} rotations, none lost, failed or stalled`, async () => {
  const fixture = await startFixture();
  const manager = fixture.manager(MANAGER_OPTIONS);
  const queueClient = createClient(manager, clientOptions(fixture));
  const workerClient = createClient(manager, clientOptions(fixture));
  const clientErrors = [...[queueClient, workerClient].map((client) => collectErrors(client))];
  let queue: Queue | undefined;
  let worker: Worker | undefined;
  try {
    await Promise.all([queueClient.connect(), workerClient.connect()]);
    const name = "jobs";
    queue = new Queue(name, { connection: queueClient as unknown as ConnectionOptions });
    const results = new Map<string, { n: number; result: unknown }>();
    const failed: string[] = [];
    const stalled: string[] = [];
    const errors: unknown[] = [];
    worker = new Worker(
      name,
      async (job) => {
        await sleep(2 + (job.data.n % 8));
        return job.data.n * 2;
      },
      {
        connection: workerClient as unknown as ConnectionOptions,
        concurrency: 10,
        // Short locks and frequent checks, so that a worker connection that stopped working
        // would show up as stalled jobs within the test.
        lockDuration: 4_000,
        stalledInterval: 1_000,
      },
    );
    worker.on("completed", (job, result) => {
      if (results.has(job.id!)) errors.push(new Error(`job ${job.id} completed twice`));
      results.set(job.id!, { n: job.data.n, result });
    });
    worker.on("failed", (job, error) => failed.push(`${job?.id}: ${error.message}`));
    worker.on("stalled", (jobId) => stalled.push(jobId));
    worker.on("error", (error) => errors.push(error));
    queue.on("error", (error) => errors.push(error));
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    // The queue's connection, the worker's, and the one the worker duplicated from it for its
    // blocking BZPOPMIN. (An idle worker blocks for drainDelay, 5 s, longer than these tokens
    // leave between a rotation and expiry: jobs are added from now on without a pause.)
    await waitFor(() => fixture.server.connections().length === 3, "the worker's connections");
    const connectionsBefore = new Map(
      fixture.server.connections().map((connection) => [connection.id, connection]),
    );

    let rotated = 0;
    const onRefreshed = () => rotated++;
    manager.on("refreshed", onRefreshed);
    const started = Date.now();
    const expected = new Map<string, number>();
    while (expected.size < JOBS || rotated < MIN_ROTATIONS) {
      const n = expected.size;
      const job = await queue.add("double", { n });
      expected.set(job.id!, n);
      await sleep(10);
    }
    manager.off("refreshed", onRefreshed);
    const allCompleted = () => results.size === expected.size;
    await waitFor(allCompleted, "every job to complete", 20_000);
    const seconds = (Date.now() - started) / 1000;
    // The AUTHs of the last rotation are sent within reauthSpreadMs. One may wait behind the
    // blocking connection's BZPOPMIN (an idle worker blocks up to drainDelay): Redis runs it when
    // the command returns, as one last job makes it.
    await sleep(500);
    const last = await queue.add("double", { n: expected.size });
    expected.set(last.id!, expected.size);
    await waitFor(allCompleted, "the last job to complete", 10_000);
    const connectionsAfter = fixture.server.connections();

    expect(describeErrors(errors)).toEqual([]);
    expect(failed).toEqual([]);
    expect(stalled).toEqual([]);
    // Every job completed, once, with its result.
    expect(results.size).toBe(expected.size);
    for (const [id, n] of expected) expect(results.get(id)).toEqual({ n, result: n * 2 });
    const counts = await queue.getJobCounts("completed", "failed", "wait", "active", "delayed");
    expect(counts).toEqual({
      completed: expected.size,
      failed: 0,
      wait: 0,
      active: 0,
      delayed: 0,
    });
    expect(rotated).toBeGreaterThanOrEqual(MIN_ROTATIONS);
    // Every connection — BullMQ's duplicates among them — lived through every rotation and was
    // re-authenticated at each one.
    expect(connectionsAfter.map(({ id }) => id).sort()).toEqual(
      [...connectionsBefore.keys()].sort(),
    );
    const now = Date.now();
    for (const connection of connectionsAfter) {
      const before = connectionsBefore.get(connection.id)!;
      expect(connection.user).toBe(fixture.objectId);
      expect(connection.authSuccesses - before.authSuccesses).toBeGreaterThanOrEqual(MIN_ROTATIONS);
      expect(connection.expiresAt).toBeGreaterThan(now);
    }
    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    expect(stats.authNotApplied).toEqual({});
    expect(describeErrors(clientErrors.flat())).toEqual([]);
    report("node-redis bullmq standalone", {
      jobs: expected.size,
      rotations: rotated,
      seconds,
      jobsPerSecond: Math.round(expected.size / seconds),
    });
  } finally {
    await worker?.close();
    await queue?.close();
    closeClient(queueClient);
    closeClient(workerClient);
    await fixture.stop();
  }
}, 40_000);
