/**
 * Load: a pool of 50 node-redis connections (createClientPool) runs loops of mixed commands
 * (strings, counters, hashes, lists, transactions, pipelines) across at least 10 rotations with no
 * failed command. Then the same with faults: 47 pooled connections and a cluster client (3 shards,
 * one shared manager) while every connection is killed three times and a shard fails over.
 * node-redis does not resend a command that was in flight when its connection dropped, so those
 * fail: every pool failure is such a lost connection, at most one per killed connection. The
 * cluster loops may also meet the failover itself, which node-redis does not always hide (5.x
 * sends a cluster transaction by its slot map without following MOVED; neither major retries
 * CLUSTERDOWN), and on node-redis 5.x only, replies it hands to the wrong commands after a kill
 * (a node-redis 5 bug, shown without this adapter too). Never an authentication error, anywhere.
 */
import type { TokenManager } from "@redis-credentials/core";
import { startTokenRedis, type TokenCluster } from "@redis-credentials/testing";
import { createClientPool, createCluster } from "../../src";
import { countRotations } from "./cluster-helpers";
import { type Fixture, nodeRedisMajor, rotations, sleep } from "./helpers";
import {
  clientOptions,
  closeClient,
  collectErrors,
  describeErrors,
  fixturesBeforeAll,
  isConnectionLost,
  keySlot,
  report,
  runLoop,
  tagsInEveryShard,
} from "./load-helpers";

const ROTATIONS = 10;
/**
 * Tokens of 4 s refreshed halfway: a rotation about every 2 s (10 in ~20 s), each 2 s before the
 * old token's expiry, so that 50 connections' AUTHs land in time even on a loaded machine.
 */
const MANAGER_OPTIONS = { lifetimeMs: 4_000, refreshBeforeExpiryMs: 2_000 };
const POOL_SIZE = 50;
const SHARDS = 3;
/** Commands per loop iteration (a transaction or a pipeline counts its commands). */
const COMMANDS_PER_STEP = 12;

// Everything starts before the tests: starting a fixture generates a key pair synchronously,
// which would stall the other test's event loop (and make its AUTHs late).
const fixtures = fixturesBeforeAll(2);
/** The fault test's standalone server and the cluster, which accepts the same issuer's tokens. */
let faultFixture: Fixture;
let clusterServer: TokenCluster;

beforeAll(async () => {
  faultFixture = fixtures.take();
  clusterServer = await startTokenRedis({
    identity: faultFixture.issuer,
    tls: false,
    cluster: { masters: SHARDS, replicasPerMaster: 1 },
  });
}, 60_000);

afterAll(async () => {
  await clusterServer?.stop();
});

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** What both a pool and a cluster offer here: node-redis's command methods. */
interface Commands {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  incr(key: string): Promise<unknown>;
  hSet(key: string, field: string, value: string): Promise<unknown>;
  lPush(key: string, element: string): Promise<unknown>;
  lRange(key: string, start: number, stop: number): Promise<unknown[]>;
  lTrim(key: string, start: number, stop: number): Promise<unknown>;
  multi(): any;
}

function newPool(manager: TokenManager, fixture: Fixture, size: number) {
  return createClientPool(manager, clientOptions(fixture), { minimum: size, maximum: size });
}

function newCluster(manager: TokenManager, cluster: TokenCluster) {
  return createCluster(manager, {
    rootNodes: [{ socket: { host: cluster.host, port: cluster.port } }],
    allowInsecureTransport: true,
  });
}

/**
 * One iteration of mixed commands; every key shares `tag`, so on a cluster they share a slot.
 * The last three go as a pipeline: `execAsPipeline()` on a pool; on a cluster, three commands sent
 * at once (node-redis writes them together), because a cluster's `execAsPipeline()` does not
 * follow MOVED (node-redis sends it to the node it knew, without redirection), which a failover
 * would turn into failures that have nothing to do with credentials.
 */
async function mixedCommands(redis: Commands, tag: string, iteration: number) {
  const value = `v${iteration}`;
  // The string and the list an iteration checks are its own (64 in turn): a write in flight when
  // its connection was killed may still run on the server after the client saw the connection
  // drop, and must not land between a later iteration's write and read. A negative iteration is
  // a one-off check run beside the loops, so it gets keys no loop uses.
  const slot = iteration < 0 ? `check${-iteration}` : iteration % 64;
  const [string, counter, hash, list] = [`s${slot}`, "n", "h", `l${slot}`].map(
    (name) => `{${tag}}:${name}`,
  ) as [string, string, string, string];
  await redis.set(string, value);
  check((await redis.get(string)) === value, "GET did not return the value just SET");
  await redis.incr(counter);
  await redis.hSet(hash, "field", value);
  await redis.lPush(list, value);
  const head = await redis.lRange(list, 0, 0);
  check(head[0] === value, "LRANGE did not return the element just pushed");
  await redis.lTrim(list, 0, 19);
  const transaction = await redis.multi().hSet(hash, "other", value).hGet(hash, "other").exec();
  check(transaction[1] === value, "HGET in a transaction did not return the HSET before it");
  const piped: unknown[] =
    "slots" in redis
      ? await Promise.all([redis.set(string, `${value}p`), redis.get(string), redis.incr(counter)])
      : await redis.multi().set(string, `${value}p`).get(string).incr(counter).execAsPipeline();
  check(piped[1] === `${value}p`, "a pipelined GET did not return the pipelined SET");
}

/** Whether an error says anything about credentials: there must be none. */
function isAuthenticationError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    /^Credentials/.test(error.name) || /WRONGPASS|NOAUTH|credentials|token/i.test(error.message)
  );
}

/** A cluster's answer to a command sent to a node that no longer serves, or cannot serve, its slot. */
function isTopologyReply(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN) /.test(error.message);
}

/**
 * A reply node-redis handed to the wrong command: the handshake's CLIENT SETINFO error (which
 * node-redis otherwise swallows; Redis 7.0 does not know SETINFO) reaching a user's command, or a
 * read that did not return what the same loop had just written.
 */
function isMisattributedReply(error: unknown): boolean {
  return (
    error instanceof Error &&
    (/unknown subcommand 'SETINFO'/.test(error.message) || /did not return/.test(error.message))
  );
}

test.concurrent(`a pool of ${POOL_SIZE} runs mixed commands across ${ROTATIONS} rotations with no failed command`, async () => {
  const fixture = fixtures.take();
  const manager = fixture.manager(MANAGER_OPTIONS);
  const pool = newPool(manager, fixture, POOL_SIZE);
  const poolErrors = collectErrors(pool);
  const running: { stop(): Promise<void> }[] = [];
  try {
    await pool.connect();
    const connectionsBefore = new Map(
      fixture.server.connections().map((connection) => [connection.id, connection]),
    );
    expect(connectionsBefore.size).toBe(POOL_SIZE);

    const rotated = countRotations(manager);
    const started = Date.now();
    // One loop per pooled connection: at most one command in flight each.
    const loops = Array.from({ length: POOL_SIZE }, (_, lane) =>
      runLoop((iteration) => mixedCommands(pool, `lane${lane}`, iteration)),
    );
    running.push(...loops);
    await rotations(manager, ROTATIONS);
    // The staggered AUTHs of the last rotation land while the loops still run.
    await sleep(500);
    await Promise.all(loops.map((loop) => loop.stop()));
    const seconds = (Date.now() - started) / 1000;
    rotated.stop();

    const errors = loops.flatMap((loop) => loop.errors);
    expect(describeErrors(errors).slice(0, 10)).toEqual([]);
    expect(errors).toHaveLength(0);
    for (const loop of loops) expect(loop.succeeded).toBeGreaterThan(ROTATIONS);
    expect(rotated.at.length).toBeGreaterThanOrEqual(ROTATIONS);
    expect(describeErrors(poolErrors)).toEqual([]);
    // The same 50 connections throughout, each renewed in place at every rotation.
    const now = Date.now();
    const connectionsAfter = fixture.server.connections();
    expect(connectionsAfter.map(({ id }) => id).sort()).toEqual(
      [...connectionsBefore.keys()].sort(),
    );
    for (const connection of connectionsAfter) {
      const before = connectionsBefore.get(connection.id)!;
      expect(connection.authSuccesses - before.authSuccesses).toBeGreaterThanOrEqual(ROTATIONS);
      expect(connection.expiresAt).toBeGreaterThan(now);
    }
    const stats = fixture.server.stats();
    expect(stats.closedAtExpiry).toBe(0);
    expect(stats.authRejected).toEqual({});
    expect(stats.authNotApplied).toEqual({});

    const commands = loops.reduce((sum, loop) => sum + loop.succeeded, 0) * COMMANDS_PER_STEP;
    report("node-redis load, pool", {
      connections: connectionsAfter.length,
      rotations: rotated.at.length,
      commands,
      failed: errors.length,
      seconds,
      commandsPerSecond: Math.round(commands / seconds),
      auths: stats.authSuccesses,
    });
  } finally {
    // Loops a failed assertion left running would spin on the closed client.
    await Promise.all(running.map((loop) => loop.stop()));
    closeClient(pool);
    await fixture.stop();
  }
}, 40_000);

test.concurrent(`a pool and a cluster client across ${ROTATIONS} rotations, three forced disconnects and a failover: only commands in flight at a disconnect (or, on the cluster, met by the failover) fail, and no authentication error`, async () => {
  const fixture = faultFixture;
  let pool: ReturnType<typeof newPool> | undefined;
  let cluster: ReturnType<typeof newCluster> | undefined;
  const running: { stop(): Promise<void> }[] = [];
  try {
    const manager = fixture.manager(MANAGER_OPTIONS);
    const poolSize = POOL_SIZE - SHARDS;
    const thePool = newPool(manager, fixture, poolSize);
    const theCluster = newCluster(manager, clusterServer);
    [pool, cluster] = [thePool, theCluster];
    const poolErrors = collectErrors(thePool);
    const clusterErrors = collectErrors(theCluster);
    const nodeErrors: Error[] = [];
    theCluster.on("node-error", (error: Error) => nodeErrors.push(error));
    await Promise.all([thePool.connect(), theCluster.connect()]);
    const servers = [fixture.server, clusterServer];
    const connectionCount = () => servers.reduce((sum, s) => sum + s.connections().length, 0);
    expect(connectionCount()).toBe(POOL_SIZE);

    const rotated = countRotations(manager);
    const started = Date.now();
    const shardTags = tagsInEveryShard("load", SHARDS);
    const poolLoops = Array.from({ length: poolSize }, (_, lane) =>
      runLoop((iteration) => mixedCommands(thePool, `lane${lane}`, iteration)),
    );
    // One loop per shard on the cluster client: one command in flight per node connection.
    const clusterLoops = shardTags.map((tag) =>
      runLoop((iteration) => mixedCommands(theCluster, tag, iteration)),
    );
    const loops = [...poolLoops, ...clusterLoops];
    running.push(...loops);

    const killed: number[] = [];
    let poolKilled = 0;
    const killAll = () => {
      const pooled = fixture.server.killConnections();
      poolKilled += pooled;
      killed.push(pooled + clusterServer.killConnections());
    };
    await rotations(manager, 2);
    killAll();
    await rotations(manager, 2);
    killAll();
    await rotations(manager, 1);
    await clusterServer.failover(0);
    // Shard 0's replica (listed after the masters) serves its slots now, and the client uses it.
    const promoted = clusterServer.nodes[SHARDS]!.port;
    await mixedCommands(theCluster, shardTags[0]!, -1);
    expect(theCluster.slots[keySlot(`{${shardTags[0]}}`)]!.master.port).toBe(promoted);
    expect(clusterServer.connections().some(({ port }) => port === promoted)).toBe(true);
    await rotations(manager, 1);
    killAll();
    const progressAtLastKill = loops.map((loop) => loop.succeeded);
    if (rotated.at.length < ROTATIONS) await rotations(manager, ROTATIONS - rotated.at.length);
    await sleep(500);
    await Promise.all(loops.map((loop) => loop.stop()));
    const seconds = (Date.now() - started) / 1000;
    rotated.stop();

    // The pool's only failures: commands in flight when their connection was killed, which
    // node-redis rejects rather than resends. A pooled connection runs one command (or one
    // transaction) at a time, and is reconnecting once node-redis has seen it drop (what is sent
    // then waits for the new connection), so each killed connection fails at most one. (A loop
    // can meet more than one killed connection in one kill, before node-redis has seen them all
    // drop.)
    // node-redis 5.12 (not 6.x) sometimes hands a reconnected connection's replies to the wrong
    // commands after such a kill, with or without this adapter (a minimal streaming provider of
    // the test's own shows it too): those are told apart, counted in the figures, and tolerated
    // on 5.x only.
    const misattributed = [...loops.flatMap((loop) => loop.errors), ...poolErrors].filter(
      isMisattributedReply,
    );
    if (nodeRedisMajor !== 5) expect(describeErrors(misattributed)).toEqual([]);
    const poolFailures = poolLoops
      .flatMap((loop) => loop.errors)
      .filter((error) => !isMisattributedReply(error));
    expect(describeErrors(poolFailures.filter((error) => !isConnectionLost(error)))).toEqual([]);
    expect(poolFailures.length).toBeLessThanOrEqual(poolKilled);
    // A cluster loop always uses its shard's connection: at most one lost command per kill; and
    // besides, only the failover's own replies.
    const failoverReplies = clusterLoops.flatMap((loop) => loop.errors.filter(isTopologyReply));
    for (const loop of clusterLoops) {
      const lost = loop.errors.filter(isConnectionLost);
      const other = loop.errors.filter(
        (error) =>
          !isConnectionLost(error) && !isTopologyReply(error) && !isMisattributedReply(error),
      );
      expect(describeErrors(other)).toEqual([]);
      expect(lost.length).toBeLessThanOrEqual(killed.length);
    }
    const errors = loops.flatMap((loop) => loop.errors);
    // Every loop, and so every connection, worked again after the last forced disconnect.
    loops.forEach((loop, index) => {
      expect(loop.succeeded).toBeGreaterThan(progressAtLastKill[index]!);
    });
    expect(rotated.at.length).toBeGreaterThanOrEqual(ROTATIONS);
    for (const count of killed) expect(count).toBeGreaterThanOrEqual(POOL_SIZE);

    // No authentication error anywhere: not in a command, not on an error event...
    const events = [...poolErrors, ...clusterErrors, ...nodeErrors];
    expect(describeErrors([...errors, ...events].filter(isAuthenticationError))).toEqual([]);
    expect(
      describeErrors(
        events.filter((error) => !isConnectionLost(error) && !isMisattributedReply(error)),
      ),
    ).toEqual([]);
    // ...and not on the servers: no AUTH refused, none lost in a transaction, no close at expiry.
    for (const server of servers) {
      const stats = server.stats();
      expect(stats.authRejected).toEqual({});
      expect(stats.authNotApplied).toEqual({});
      expect(stats.closedAtExpiry).toBe(0);
    }
    const now = Date.now();
    const live = [...fixture.server.connections(), ...clusterServer.connections()];
    expect(live.length).toBeGreaterThanOrEqual(POOL_SIZE);
    for (const connection of live) expect(connection.expiresAt).toBeGreaterThan(now);

    const succeeded = loops.reduce((sum, loop) => sum + loop.succeeded, 0);
    const commands = succeeded * COMMANDS_PER_STEP;
    report("node-redis load, pool + cluster with faults", {
      connections: live.length,
      rotations: rotated.at.length,
      killed,
      failedSteps: errors.length,
      failoverReplies: describeErrors(failoverReplies),
      misattributedReplies: misattributed.length,
      commands,
      seconds,
      commandsPerSecond: Math.round(commands / seconds),
    });
  } finally {
    await Promise.all(running.map((loop) => loop.stop()));
    closeClient(pool);
    closeClient(cluster);
    await fixture.stop();
  }
}, 60_000);
