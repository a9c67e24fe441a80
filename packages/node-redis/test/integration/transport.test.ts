import {
  InsecureTransportError,
  InvalidOptionsError,
  type TokenManager,
} from "@redis-credentials/core";
import { startTokenRedis, type TokenRedis } from "@redis-credentials/testing";
import * as redis from "redis";
import {
  createClient,
  createClientPool,
  createCluster,
  createSentinel,
  credentialsProvider,
} from "../../src";
import { nodeRedisMajor, rotations, startFixture } from "./helpers";
import {
  collectErrors,
  destroyQuietly,
  ROOMY_ROTATION,
  report,
  waitFor,
  within,
} from "./pool-helpers";

/*
 * Tokens are bearer secrets: the adapter refuses to send a manager's credentials over a
 * connection without TLS unless the caller opts in with `allowInsecureTransport: true`, and it
 * refuses options that carry credentials of their own (they would be ignored, or win).
 */

/**
 * Socket options beside a `rediss://` URL: only the CA, so that the URL alone says TLS
 * (node-redis's types want `tls: true` next to `ca`; at run time the URL sets it).
 */
function urlSocket(ca: string | undefined): { tls: true; ca: string } {
  return { ca } as unknown as { tls: true; ca: string };
}

/** What `make()` throws, or undefined. */
function thrownBy(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What `promise` rejects with; fails if it resolves, or hangs past `ms`. */
async function rejectionOf(promise: Promise<unknown>, what: string, ms = 5_000): Promise<unknown> {
  const outcome = await within(
    promise.then(
      () => ({ resolved: true as const }),
      (reason: unknown) => ({ resolved: false as const, reason }),
    ),
    ms,
    what,
  );
  if (outcome.resolved) throw new Error(`${what} resolved: it should have rejected`);
  return outcome.reason;
}

/** The refusal says where, why, and how to opt in. */
function expectInsecureTransportRefusal(error: unknown, target: string) {
  expect(error).toBeInstanceOf(InsecureTransportError);
  const message = (error as Error).message;
  expect(message).toContain(target);
  expect(message).toMatch(/without TLS/);
  expect(message).toMatch(/socket: \{ tls: true \}/);
  expect(message).toMatch(/allowInsecureTransport: true/);
}

/** Nothing was sent: no token fetched, none subscribed, no AUTH received, no connection left. */
function expectNothingSent(manager: TokenManager, server: TokenRedis) {
  expect(manager.status().counters.fetches).toBe(0);
  expect(manager.status().counters.subscribers).toBe(0);
  expect(server.stats().authAttempts).toBe(0);
}

test.concurrent("without TLS, createClient and createClientPool refuse to be made, createCluster's connect rejects, and a bare provider fails node-redis's connect: no token is ever sent", async () => {
  const [fixture, clustered] = await Promise.all([
    startFixture({ tls: false }),
    startFixture({ tls: false, cluster: { masters: 1 } }),
  ]);
  const manager = fixture.manager(ROOMY_ROTATION);
  const { host, port } = fixture.server;
  const target = `${host}:${port}`;
  const socket = { host, port };
  const closeables: { isOpen: boolean; destroy(): unknown }[] = [];
  try {
    // The factories throw at once: nothing is made that could connect.
    expectInsecureTransportRefusal(
      thrownBy(() => createClient(manager, { socket })),
      target,
    );
    expectInsecureTransportRefusal(
      thrownBy(() => createClient(manager, { socket, allowInsecureTransport: false })),
      target,
    );
    expectInsecureTransportRefusal(
      thrownBy(() => createClient(manager, { url: `redis://${target}` })),
      `redis://${target}`,
    );
    expectInsecureTransportRefusal(
      thrownBy(() => createClientPool(manager, { socket })),
      target,
    );

    // A cluster learns its nodes when it connects: the connect rejects with the same refusal.
    const clusterTarget = `${clustered.server.host}:${clustered.server.port}`;
    const cluster = createCluster(manager, {
      rootNodes: [{ socket: { host: clustered.server.host, port: clustered.server.port } }],
    });
    closeables.push(cluster);
    const clusterErrors = collectErrors(cluster);
    const clusterRefusal = await rejectionOf(cluster.connect(), "the cluster's connect");
    expectInsecureTransportRefusal(clusterRefusal, clusterTarget);
    expect(clusterRefusal).not.toBeInstanceOf(redis.RootNodesUnavailableError);
    expect(cluster.isOpen).toBe(false);
    for (const error of clusterErrors) {
      const typed = (error as { originalError?: unknown }).originalError ?? error;
      expect(typed).toBeInstanceOf(InsecureTransportError);
    }

    // A bare provider in node-redis's own client: the refusal reaches the client's `error` event
    // on every attempt (node-redis retries by default)...
    const provider = credentialsProvider(manager);
    const bare = redis.createClient({ socket, credentialsProvider: provider });
    closeables.push(bare);
    const bareErrors = collectErrors(bare);
    const bareConnect = bare.connect().catch((error: unknown) => error);
    await waitFor(() => bareErrors.length >= 2, "two refused attempts", 5_000);
    for (const error of bareErrors) expectInsecureTransportRefusal(error, target);
    bare.destroy();
    await within(bareConnect, 5_000, "the bare client's connect to end");
    // ...and, without retries, connect() rejects with it.
    const once = redis.createClient({
      socket: { ...socket, reconnectStrategy: false },
      credentialsProvider: provider,
    });
    closeables.push(once);
    const onceErrors = collectErrors(once);
    const onceRefusal = await rejectionOf(once.connect(), "the bare client's connect");
    expectInsecureTransportRefusal(onceRefusal, target);
    expect(onceErrors).toEqual([onceRefusal]);
    expect(provider.status()).toMatchObject({ connections: 0 });

    // Not one token was fetched, let alone sent.
    expectNothingSent(manager, fixture.server);
    expect(clustered.server.stats().authAttempts).toBe(0);
    report(`no TLS (node-redis ${nodeRedisMajor})`, {
      bareRefusals: bareErrors.length,
      clusterErrorEvents: clusterErrors.length,
    });
  } finally {
    for (const client of closeables) destroyQuietly(client);
    await Promise.all([fixture.stop(), clustered.stop()]);
  }
});

test.concurrent("over TLS everything works without an opt-in across rotations: createClient (socket or rediss:// URL), createClientPool, createCluster and a bare provider", async () => {
  const fixture = await startFixture({ tls: true });
  // The same identity as the standalone server: one manager's tokens work on both.
  const clusterServer = await startTokenRedis({
    identity: fixture.issuer,
    tls: true,
    cluster: { masters: 3 },
  });
  const clustered = { server: clusterServer, stop: () => clusterServer.stop() };
  const manager = fixture.manager(ROOMY_ROTATION);
  const { host, port, ca } = fixture.server;
  expect(ca).toBeDefined();
  const tls = { tls: true as const, ca };
  const client = createClient(manager, { socket: { host, port, ...tls } });
  const fromUrl = createClient(manager, { url: `rediss://${host}:${port}`, socket: urlSocket(ca) });
  const pool = createClientPool(manager, { socket: { host, port, ...tls } }, { minimum: 2 });
  const cluster = createCluster(manager, {
    rootNodes: [{ socket: { host: clustered.server.host, port: clustered.server.port } }],
    defaults: { socket: { tls: true, ca: clustered.server.ca } },
  });
  const provider = credentialsProvider(manager);
  const bare = redis.createClient({
    socket: { host, port, ...tls },
    credentialsProvider: provider,
  });
  const all = [client, fromUrl, pool, cluster, bare];
  const errors = all.map((target) => collectErrors(target));
  try {
    await within(Promise.all(all.map((target) => target.connect())), 10_000, "the connects");
    const keys = ["a", "b", "c", "d", "e", "f"];
    const useAll = async (round: number) => {
      await client.set("tls", String(round));
      expect(await fromUrl.get("tls")).toBe(String(round));
      expect(await pool.ping()).toBe("PONG");
      await Promise.all(keys.map((key) => cluster.set(key, String(round))));
      expect(await bare.ping()).toBe("PONG");
    };
    await useAll(0);
    const standalone = fixture.server.stats().connections;
    const nodes = clustered.server.stats().connections;
    expect(standalone).toBe(5);
    expect(nodes).toBeGreaterThanOrEqual(3);
    expect(manager.status().counters.subscribers).toBe(standalone + nodes);
    const before = [fixture.server.stats(), clustered.server.stats()];
    const refreshesBefore = manager.status().counters.refreshes;

    await rotations(manager, 2);
    const expiresAt = manager.peekCredentials()?.expiresAt;
    await waitFor(
      () =>
        [fixture.server, clustered.server].every((server) =>
          server.connections().every((connection) => connection.expiresAt === expiresAt),
        ),
      "every connection to hold the new token",
      Math.max(0, (expiresAt ?? 0) - ROOMY_ROTATION.refreshBeforeExpiryMs - Date.now()),
    );
    const rotated = manager.status().counters.refreshes - refreshesBefore;
    await useAll(2);

    const after = [fixture.server.stats(), clustered.server.stats()];
    for (const [index, stats] of after.entries()) {
      // The same connections, each re-authenticated by AUTH at each rotation, over TLS.
      expect(stats.connections).toBe(index === 0 ? standalone : nodes);
      expect(stats.authSuccesses - before[index]!.authSuccesses).toBe(rotated * stats.connections);
      expect(stats.authRejected).toEqual({});
      expect(stats.closedAtExpiry).toBe(0);
    }
    expect(provider.status()).toMatchObject({ connections: 1, reauthFailures: 0 });
    for (const list of errors) expect(list).toEqual([]);
    report(`TLS (node-redis ${nodeRedisMajor})`, {
      standaloneConnections: standalone,
      clusterNodeConnections: nodes,
      authSuccesses: after.map((stats) => stats.authSuccesses),
    });
  } finally {
    for (const target of all) destroyQuietly(target);
    await Promise.all([fixture.stop(), clustered.stop()]);
  }
});

test.concurrent("options carrying their own credentials are refused with InvalidOptionsError naming the option", async () => {
  const fixture = await startFixture({ tls: true });
  const manager = fixture.manager(ROOMY_ROTATION);
  const { host, port, ca } = fixture.server;
  const socket = { host, port, tls: true as const, ca };
  const bad: Record<string, () => unknown> = {
    "createClient username": () => createClient(manager, { socket, username: "someone" }),
    "createClient password": () => createClient(manager, { socket, password: "secret" }),
    "createClient credentialsProvider": () =>
      createClient(manager, { socket, credentialsProvider: credentialsProvider(manager) }),
    "createClient URL with user:pass@": () =>
      createClient(manager, {
        url: `rediss://someone:secret@${host}:${port}`,
        socket: urlSocket(ca),
      }),
    "createClient URL with :pass@": () =>
      createClient(manager, { url: `rediss://:secret@${host}:${port}`, socket: urlSocket(ca) }),
    "createClient URL with user@": () =>
      createClient(manager, { url: `rediss://someone@${host}:${port}`, socket: urlSocket(ca) }),
    "createClientPool password": () => createClientPool(manager, { socket, password: "secret" }),
    "createClientPool URL with user:pass@": () =>
      createClientPool(manager, { url: `rediss://someone:secret@${host}:${port}` }),
    "createCluster defaults.password": () =>
      createCluster(manager, { rootNodes: [{ socket }], defaults: { password: "secret" } }),
    "createCluster defaults.credentialsProvider": () =>
      createCluster(manager, {
        rootNodes: [{ socket }],
        defaults: { credentialsProvider: credentialsProvider(manager) },
      }),
    "createCluster rootNodes[1].username": () =>
      createCluster(manager, { rootNodes: [{ socket }, { socket, username: "someone" }] }),
    "createCluster rootNodes[0].url with user:pass@": () =>
      createCluster(manager, { rootNodes: [{ url: `rediss://someone:secret@${host}:${port}` }] }),
    "createSentinel nodeClientOptions.password": () =>
      createSentinel(manager, {
        name: "mymaster",
        sentinelRootNodes: [{ host, port }],
        nodeClientOptions: { password: "secret" },
      }),
  };
  const options: Record<string, string> = {
    "createClient username": "options",
    "createClient password": "options",
    "createClient credentialsProvider": "options",
    "createClient URL with user:pass@": "options.url",
    "createClient URL with :pass@": "options.url",
    "createClient URL with user@": "options.url",
    "createClientPool password": "options",
    "createClientPool URL with user:pass@": "options.url",
    "createCluster defaults.password": "options.defaults",
    "createCluster defaults.credentialsProvider": "options.defaults",
    "createCluster rootNodes[1].username": "options.rootNodes[1]",
    "createCluster rootNodes[0].url with user:pass@": "options.rootNodes[0].url",
    "createSentinel nodeClientOptions.password": "options.nodeClientOptions",
  };
  try {
    const refusals = Object.entries(bad).map(([name, make]) => {
      const error = thrownBy(make);
      return {
        name,
        invalidOptions: error instanceof InvalidOptionsError,
        option: (error as InvalidOptionsError | undefined)?.option,
        // Never echoes the secret it refused.
        echoesSecret: String((error as Error | undefined)?.message).includes("secret"),
      };
    });
    expect(refusals).toEqual(
      Object.keys(bad).map((name) => ({
        name,
        invalidOptions: true,
        option: options[name],
        echoesSecret: false,
      })),
    );
    // The same options without credentials are fine, and work.
    const client = createClient(manager, { socket });
    const errors = collectErrors(client);
    try {
      await within(client.connect(), 10_000, "the connect");
      expect(await client.ping()).toBe("PONG");
    } finally {
      destroyQuietly(client);
    }
    expect(errors).toEqual([]);
    // Only that client ever reached the server, and the refused ones never subscribed.
    expect(fixture.server.stats().authAttempts).toBe(1);
    expect(manager.status().counters.subscribers).toBe(0);
  } finally {
    await fixture.stop();
  }
});
