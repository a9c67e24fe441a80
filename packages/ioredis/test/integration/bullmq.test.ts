/**
 * BullMQ, the main consumer of ioredis, on bound clients: a Queue and a Worker (whose own
 * connection and blocking connection come from `duplicate()`, which the adapter binds) process a
 * stream of jobs across many rotations with none lost, failed or stalled, and the server never
 * closes one of their connections at expiry. Standalone (500 jobs, 10 rotations) and on a cluster
 * (100 jobs, 5 rotations; `cluster.duplicate()` makes the worker's connections there).
 */
import type { TokenManager } from "@redis-credentials/core";
import { Queue, Worker } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import { createCluster, createRedis } from "../../src";
import {
  clusterOptions,
  connectionsOf,
  describeErrors,
  report,
  seedNodes,
  Users,
} from "./cluster-helpers";
import { type Fixture, sleep, startFixture } from "./helpers";

/** Tokens living 2 s rotate about every second. */
const LIFETIME_MS = 2_000;

let standaloneFixture: Fixture;
let clusterFixture: Fixture;
let users: Users;
const clients: (Redis | Cluster)[] = [];

beforeAll(async () => {
  [standaloneFixture, clusterFixture] = await Promise.all([
    startFixture({ tls: false }),
    startFixture({ tls: false, cluster: { masters: 3 } }),
  ]);
  users = new Users(clusterFixture.issuer);
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await users?.dispose();
  await Promise.all([standaloneFixture?.stop(), clusterFixture?.stop()]);
});

interface Run {
  fixture: Fixture;
  user: string;
  manager: TokenManager;
  queueConnection: Redis | Cluster;
  /** With `maxRetriesPerRequest: null`, as BullMQ requires of a worker's connection. */
  workerConnection: Redis | Cluster;
  /** BullMQ's key prefix: a hash tag on a cluster, so that each queue's keys share a slot. */
  prefix?: string;
  minJobs: number;
  minRotations: number;
  /** Between two `queue.add` calls: paces the stream of jobs over the rotations. */
  addEveryMs: number;
}

/**
 * Adds numbered jobs one by one until at least `minJobs` are added and `minRotations` rotations
 * happened while the worker was processing, then waits for all of them and checks the outcome.
 */
async function processAcrossRotations(run: Run) {
  const { manager, fixture } = run;
  const name = `jobs-${run.user.slice(0, 8)}`;
  const prefixOption = run.prefix === undefined ? {} : { prefix: run.prefix };
  const queue = new Queue(name, { connection: run.queueConnection as Redis, ...prefixOption });
  const results = new Map<string, unknown>();
  const failed: string[] = [];
  const stalled: string[] = [];
  const errors: unknown[] = [];
  const worker = new Worker(
    name,
    async (job) => {
      await sleep(2 + (job.data.n % 8));
      return job.data.n * 2;
    },
    {
      connection: run.workerConnection as Redis,
      ...prefixOption,
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
  try {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    let rotated = 0;
    const onRefreshed = () => rotated++;
    manager.on("refreshed", onRefreshed);
    // The queue's connection, the worker's, and the two the worker duplicated from it.
    const connectionsBefore = new Map(
      connectionsOf(fixture.server, run.user).map((connection) => [connection.id, connection]),
    );

    const started = Date.now();
    const expected = new Map<string, number>();
    while (expected.size < run.minJobs || rotated < run.minRotations) {
      const n = expected.size;
      const job = await queue.add("double", { n });
      expected.set(job.id!, n);
      await sleep(run.addEveryMs);
    }
    manager.off("refreshed", onRefreshed);
    const untilCompleted = async (count: number) => {
      for (let waited = 0; results.size < count && waited < 20_000; waited += 20) await sleep(20);
    };
    await untilCompleted(expected.size);
    const seconds = (Date.now() - started) / 1000;
    // The AUTHs of the last rotation counted are sent within reauthSpreadMs. One may wait behind
    // the blocking connection's BZPOPMIN (an idle worker blocks up to drainDelay): Redis runs it
    // when the command returns, as one last job makes it.
    await sleep(500);
    const last = await queue.add("double", { n: expected.size });
    expected.set(last.id!, expected.size);
    await untilCompleted(expected.size);
    const connectionsAfter = connectionsOf(fixture.server, run.user);
    const ours = new Set(
      [run.queueConnection, run.workerConnection]
        .flatMap((client) =>
          client.isCluster ? (client as Cluster).nodes("all") : [client as Redis],
        )
        .map((redis) => redis.stream?.localPort),
    );

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
    expect(rotated).toBeGreaterThanOrEqual(run.minRotations);
    // Every connection — BullMQ's duplicates among them — lived through every rotation and
    // re-AUTHed at each one. (A cluster may open a connection to a node it had not used yet.)
    const afterIds = new Set(connectionsAfter.map(({ id }) => id));
    expect([...connectionsBefore.keys()].filter((id) => !afterIds.has(id))).toEqual([]);
    const survivors = connectionsAfter.filter(({ id }) => connectionsBefore.has(id));
    const duplicates = survivors.filter(({ clientPort }) => !ours.has(clientPort));
    expect(duplicates.length).toBeGreaterThanOrEqual(1);
    const now = Date.now();
    for (const connection of connectionsAfter) expect(connection.expiresAt).toBeGreaterThan(now);
    for (const connection of survivors) {
      const before = connectionsBefore.get(connection.id)!;
      expect(connection.authSuccesses - before.authSuccesses).toBeGreaterThanOrEqual(
        run.minRotations,
      );
    }
    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    expect(stats.authNotApplied).toEqual({});
    return { jobs: expected.size, rotations: rotated, seconds };
  } finally {
    await worker.close();
    await queue.close();
  }
}

describe("BullMQ on bound clients", () => {
  test.concurrent("a Queue and a Worker (concurrency 10) on createRedis clients process 500 jobs across 10 rotations, none lost, failed or stalled", async () => {
    const fixture = standaloneFixture;
    const manager = fixture.manager({ lifetimeMs: LIFETIME_MS });
    const queueConnection = await createRedis(manager, fixture.redisOptions());
    const workerConnection = await createRedis(
      manager,
      fixture.redisOptions({ maxRetriesPerRequest: null }),
    );
    clients.push(queueConnection, workerConnection);
    const outcome = await processAcrossRotations({
      fixture,
      user: fixture.objectId,
      manager,
      queueConnection,
      workerConnection,
      minJobs: 500,
      minRotations: 10,
      addEveryMs: 15,
    });
    report("bullmq standalone", { ...outcome, jobsPerSecond: outcome.jobs / outcome.seconds });
  });

  test.concurrent("on a cluster (createCluster, prefix {bull}), 100 jobs across 5 rotations, none lost, failed or stalled", async () => {
    const fixture = clusterFixture;
    const { user, manager } = users.create({ lifetimeMs: LIFETIME_MS });
    const queueConnection = await createCluster(
      manager,
      seedNodes(fixture),
      clusterOptions(fixture),
    );
    const workerConnection = await createCluster(
      manager,
      seedNodes(fixture),
      clusterOptions(fixture, { redisOptions: { maxRetriesPerRequest: null } }),
    );
    clients.push(queueConnection, workerConnection);
    const outcome = await processAcrossRotations({
      fixture,
      user,
      manager,
      queueConnection,
      workerConnection,
      prefix: "{bull}",
      minJobs: 100,
      minRotations: 5,
      addEveryMs: 40,
    });
    report("bullmq cluster", { ...outcome, jobsPerSecond: outcome.jobs / outcome.seconds });
  });
});
