import { credentialsFromJwt, type TokenManager } from "@redis-credentials/core";
import {
  afterRotations,
  managerFor,
  report,
  runLoop,
  sleep,
  waitFor,
} from "@redis-credentials/test-helpers";
import {
  type ConnectionStats,
  createTokenIssuer,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import {
  Batch,
  ClusterBatch,
  type GlideClient,
  GlideClientConfiguration,
  type GlideClusterClient,
  GlideClusterClientConfiguration,
} from "@valkey/valkey-glide";
import { bindingOf, createGlideClient, createGlideClusterClient } from "../../src";
import { renewal, tlsConfig } from "./helpers";

/*
 * Real GLIDE clients against the token-enforcing Redis over TLS, tokens living 3 s: commands,
 * RESP3 pub/sub, blocking commands, batches and transactions across 5 rotations, and reconnects
 * after the server kills the connections. What a password update does not reach is measured.
 */

const issuer = createTokenIssuer();
let standalone: TokenRedis;
let cluster: TokenRedis;
beforeAll(async () => {
  [standalone, cluster] = await Promise.all([
    startTokenRedis({ identity: issuer }),
    startTokenRedis({ identity: issuer, cluster: { masters: 3 } }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([standalone?.stop(), cluster?.stop()]);
});

let users = 0;
/** A manager of 3 s tokens for a user of its own, so that tests sharing a server can tell theirs apart. */
function newUser() {
  const objectId = `00000000-0000-4000-8000-1${String(++users).padStart(11, "0")}`;
  const manager = managerFor({
    name: `glide-${users}`,
    fetch: async () => credentialsFromJwt(issuer.issueToken({ objectId, lifetimeMs: 3_000 })),
  });
  const mine = (server: TokenRedis) => server.connections().filter((c) => c.user === objectId);
  return { objectId, manager, mine };
}

type AnyClient = GlideClient | GlideClusterClient;

/** SET/GET, a transaction, a pipeline, a BLPOP unblocked by a push, and a publish, every round. */
function workload(client: AnyClient, helper: AnyClient, tag: string, isCluster: boolean) {
  const key = `{${tag}}:k`;
  const list = `{${tag}}:list`;
  const batch = (atomic: boolean) => (isCluster ? new ClusterBatch(atomic) : new Batch(atomic));
  const exec = (b: Batch | ClusterBatch) =>
    isCluster
      ? (client as GlideClusterClient).exec(b as ClusterBatch, true)
      : (client as GlideClient).exec(b as Batch, true);
  let published = 0;
  const loop = runLoop(async (round) => {
    const value = String(round);
    expect(await client.set(key, value)).toBe("OK");
    expect(await client.get(key)).toBe(value);
    expect(await exec(batch(true).set(key, value).incr(`${key}:n`).get(key))).toEqual([
      "OK",
      expect.any(Number),
      value,
    ]);
    expect(await exec(batch(false).set(`${key}:p`, value).get(`${key}:p`))).toEqual(["OK", value]);
    // Blocks the connection for longer than a token's refresh margin unless the push comes.
    const pushed = sleep(300).then(() => helper.rpush(list, [value]));
    const popped = await client.blpop([list], 5);
    await pushed;
    expect(popped).toEqual([list, value]);
    await helper.publish(value, `${tag}:events`);
    published++;
  }, 20);
  return { loop, published: () => published };
}

async function across(
  kind: "standalone" | "cluster",
  server: () => TokenRedis,
  periodicChecks?: "disabled",
) {
  const { manager, mine, objectId } = newUser();
  const errors: Error[] = [];
  const subscriberErrors: unknown[] = [];
  manager.on("subscriberError", (error) => subscriberErrors.push(error));
  const received: string[] = [];
  const tag = `${kind}${periodicChecks ? "-nochecks" : ""}`;
  const channel = `${tag}:events`;
  const isCluster = kind === "cluster";
  const common = { ...tlsConfig(server()), onError: (e: Error) => errors.push(e) };
  const clients: AnyClient[] = [];
  try {
    const open = (subscribe: boolean): Promise<AnyClient> =>
      isCluster
        ? createGlideClusterClient(manager, {
            ...common,
            ...(periodicChecks && { periodicChecks }),
            ...(subscribe && {
              pubsubSubscriptions: {
                channelsAndPatterns: {
                  [GlideClusterClientConfiguration.PubSubChannelModes.Exact]: new Set([channel]),
                },
                callback: (message) => received.push(String(message.message)),
              },
            }),
          })
        : createGlideClient(manager, {
            ...common,
            ...(subscribe && {
              pubsubSubscriptions: {
                channelsAndPatterns: {
                  [GlideClientConfiguration.PubSubChannelModes.Exact]: new Set([channel]),
                },
                callback: (message) => received.push(String(message.message)),
              },
            }),
          });
    const client = await open(false);
    clients.push(client);
    const helper = await open(false);
    clients.push(helper);
    const subscriber = await open(true);
    clients.push(subscriber);
    const atStart = mine(server()).length;

    const { loop, published } = workload(client, helper, tag, isCluster);
    await afterRotations(manager, 5);
    // Every connection the last update reached has outlived the tokens before it.
    await sleep(1_500);
    await loop.stop();
    await waitFor(() => received.length >= published(), "the last messages", 3_000).catch(() => {});

    const binding = bindingOf(client)!;
    const figures = {
      connectionsAtStart: atStart,
      ...renewal({ connections: () => mine(server()) } as TokenRedis),
      rounds: loop.succeeded,
      failedCommands: loop.errors.length,
      published: published(),
      received: received.length,
      status: binding.status(),
    };
    report(`${tag} across 5 rotations`, figures);
    expect(loop.errors.map(String)).toEqual([]);
    expect(loop.succeeded).toBeGreaterThan(5);
    expect(received.length).toBe(published());
    expect(errors).toEqual([]);
    expect(subscriberErrors).toEqual([]);
    expect(binding.status()).toMatchObject({ connections: 1, reauthFailures: 0, iamRetries: 0 });
    expect(binding.status().lastReauthAt).toEqual(expect.any(Number));
    expect(manager.status().counters.subscribers).toBe(3);
    return { figures, objectId, manager, clients };
  } finally {
    for (const c of clients) c.close();
    await manager.dispose();
  }
}

test("standalone over TLS: commands, RESP3 pub/sub, BLPOP, batches and transactions across 5 rotations; every connection re-authenticated, none closed at expiry", async () => {
  const before = standalone.stats().closedAtExpiry;
  const { figures } = await across("standalone", () => standalone);
  // One connection per client (commands, pub/sub and blocking share it), each re-authenticated.
  expect(figures.connectionsAtStart).toBe(3);
  expect(figures.neverReauthenticated).toBe(0);
  expect(standalone.stats().closedAtExpiry - before).toBe(0);
  expect(standalone.stats().authNotApplied).toEqual({});
}, 60_000);

test("cluster (3 masters) over TLS: the same workload across 5 rotations; the management connection to each node is not re-authenticated and is closed at its first token's expiry, with no failed command", async () => {
  const before = cluster.stats().closedAtExpiry;
  const { figures } = await across("cluster", () => cluster);
  const closed = cluster.stats().closedAtExpiry - before;
  report("cluster: closed at expiry", { closed, perClient: closed / 3 });
  // 3 clients × (a connection per node + a management connection per node); GLIDE opens the
  // management connections in the background, so a snapshot right after createClient may miss some.
  expect(figures.connectionsAtStart).toBeGreaterThanOrEqual(3 * 3);
  // What is left: the connections the password updates reach, all re-authenticated; GLIDE did
  // not reopen the management connections the server closed.
  expect(figures.neverReauthenticated).toBe(0);
  expect(figures.connections).toBe(3 * 3);
  expect(closed).toBe(3 * 3);
}, 60_000);

test("cluster with periodicChecks disabled: the management connections are there all the same", async () => {
  const before = cluster.stats().closedAtExpiry;
  const { figures } = await across("cluster", () => cluster, "disabled");
  const closed = cluster.stats().closedAtExpiry - before;
  report("cluster, periodicChecks disabled: closed at expiry", { closed, figures });
  expect(figures.neverReauthenticated).toBe(0);
  expect(closed).toBe(3 * 3);
}, 60_000);

async function killAndRecover(
  kind: "standalone" | "cluster",
  server: () => TokenRedis,
  manager: TokenManager,
  mine: (server: TokenRedis) => ConnectionStats[],
) {
  const client =
    kind === "cluster"
      ? await createGlideClusterClient(manager, tlsConfig(server()))
      : await createGlideClient(manager, tlsConfig(server()));
  try {
    for (let round = 1; round <= 3; round++) {
      await afterRotations(manager, 1);
      const floor = manager.peekCredentials()!.expiresAt;
      const before = new Set(mine(server()).map((c) => c.id));
      const killed = server().killConnections((c) => before.has(c.id));
      expect(killed).toBeGreaterThan(0);
      // GLIDE reconnects by itself, with the password of the last update.
      const value = `round-${round}`;
      await waitFor(
        async () => (await client.set(`{k}:${kind}`, value).catch(() => null)) === "OK",
        `the ${kind} client back after kill ${round}`,
        10_000,
      );
      expect(await client.get(`{k}:${kind}`)).toBe(value);
      const back = mine(server()).filter((c) => !before.has(c.id));
      expect(back.length).toBeGreaterThan(0);
      for (const connection of back)
        expect(connection.expiresAt ?? 0).toBeGreaterThanOrEqual(floor);
    }
  } finally {
    client.close();
  }
}

test("killConnections(): GLIDE reconnects (standalone and cluster) with the current credentials, commands succeed", async () => {
  const a = newUser();
  const b = newUser();
  const rejected = () => ({ ...standalone.stats().authRejected, ...cluster.stats().authRejected });
  try {
    await Promise.all([
      killAndRecover("standalone", () => standalone, a.manager, a.mine),
      killAndRecover("cluster", () => cluster, b.manager, b.mine),
    ]);
    expect(rejected()).toEqual({});
  } finally {
    await Promise.all([a.manager.dispose(), b.manager.dispose()]);
  }
}, 60_000);
