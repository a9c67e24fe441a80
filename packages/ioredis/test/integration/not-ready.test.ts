/*
 * createRedis and createCluster against servers that never make a ready client: each rejects
 * with a typed error saying what went wrong, and disconnects the client it built, instead of
 * ioredis's reconnecting for ever. A TCP server that closes every connection stands for an
 * address that is no Redis; real cluster-enabled redis-servers stand for a cluster without slots.
 */
import { createServer, type Server, type Socket } from "node:net";
import { createTokenManager, staticCredentials, type TokenManager } from "@redis-credentials/core";
import { createFakeClock } from "@redis-credentials/testing";
import { Redis } from "ioredis";
import { type RedisProcess, startRedisServer } from "../../../testing/src/redis-process";
import {
  CLUSTER_READY_TIMEOUT_MS,
  ClusterNotReadyError,
  ConnectionClosedError,
  createCluster,
  createRedis,
} from "../../src";

const PASSWORD = "not-ready-pw";

/** A server that reads the first bytes of a connection, answers half a reply and hangs up. */
async function startClosingServer(): Promise<{
  port: number;
  connections(): number;
  stop(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("data", () => {
      socket.write("$10\r\nabc");
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    connections: () => connections,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startClusterNode(): Promise<RedisProcess> {
  return startRedisServer({
    password: PASSWORD,
    // With no announced address, CLUSTER SLOTS names the node "", which ioredis skips.
    args: [
      ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
      ...["--cluster-announce-ip", "127.0.0.1"],
    ],
  });
}

let manager: TokenManager;
beforeEach(() => {
  manager = createTokenManager(staticCredentials({ username: "default", password: PASSWORD }));
});
afterEach(() => manager.dispose());

test("createRedis: a server closing the connection during the handshake gives ConnectionClosedError, and no reconnects", async () => {
  const server = await startClosingServer();
  try {
    const error = await createRedis(manager, {
      host: "127.0.0.1",
      port: server.port,
      allowInsecureTransport: true,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({
      name: "ConnectionClosedError",
      target: `127.0.0.1:${server.port}`,
      message: expect.stringMatching(/closed the connection during the handshake/),
    });
    // ioredis's own error, for those who want it.
    expect((error as Error).cause).toEqual(
      expect.objectContaining({ message: "Connection is closed." }),
    );
    expect((error as Error).message).not.toContain(PASSWORD);
    // The client was disconnected: ioredis's default retryStrategy would be back within 200 ms.
    const seen = server.connections();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(server.connections()).toBe(seen);
  } finally {
    await server.stop();
  }
});

test("createCluster: a node whose cluster has no slots assigned gives ClusterNotReadyError (no-slots) at once", async () => {
  const node = await startClusterNode();
  try {
    const started = Date.now();
    const error = await createCluster(manager, [{ host: node.host, port: node.port }], {
      allowInsecureTransport: true,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ClusterNotReadyError);
    expect(error).toMatchObject({
      reason: "no-slots",
      message: expect.stringMatching(/CLUSTER SLOTS reply was not a slot table/),
    });
    expect((error as Error).message).toContain(`127.0.0.1:${node.port}`);
    // ioredis 6 would retry for ever; ioredis 5 rejects this at once too.
    expect(Date.now() - started).toBeLessThan(5_000);
    // The cluster was disconnected: no connection reaches the node any more (one admin aside).
    const admin = new Redis({ host: node.host, port: node.port, password: PASSWORD });
    const received = async () =>
      Number(/total_connections_received:(\d+)/.exec(await admin.info("stats"))?.[1]);
    const before = await received();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await received()).toBe(before);
    admin.disconnect();
  } finally {
    await node.stop();
  }
});

test("createCluster: a cluster that never becomes ready gives ClusterNotReadyError (timeout) after CLUSTER_READY_TIMEOUT_MS", async () => {
  // One node serving slots 0-99 only: CLUSTER SLOTS is a slot table, but the cluster's state
  // stays `fail` (slots uncovered), so ioredis's ready check fails and it reconnects for ever.
  const node = await startClusterNode();
  const admin = new Redis({ host: node.host, port: node.port, password: PASSWORD });
  await admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "99");
  admin.disconnect();
  const clock = createFakeClock();
  const clocked = createTokenManager(
    staticCredentials({ username: "default", password: PASSWORD }),
    { clock },
  );
  try {
    let settled = false;
    const connecting = createCluster(clocked, [{ host: node.host, port: node.port }], {
      allowInsecureTransport: true,
    }).finally(() => {
      settled = true;
    });
    connecting.catch(() => {});
    // Real time for ioredis to go round its ready check a few times; the bound is not reached.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(settled).toBe(false);
    await clock.advance(CLUSTER_READY_TIMEOUT_MS - 1);
    const early = await Promise.race([
      connecting.catch((caught: unknown) => caught),
      Promise.resolve("pending"),
    ]);
    expect(early).toBe("pending");
    await clock.advance(1);
    const error = await connecting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ClusterNotReadyError);
    expect(error).toMatchObject({
      reason: "timeout",
      message: expect.stringMatching(
        new RegExp(`did not become ready within ${CLUSTER_READY_TIMEOUT_MS} ms`),
      ),
    });
  } finally {
    await clocked.dispose();
    await node.stop();
  }
});
