import { createTokenManager, staticCredentials, type TokenManager } from "@redis-credentials/core";
import * as ioredisAdapter from "@redis-credentials/ioredis";
import * as iovalkeyAdapter from "@redis-credentials/iovalkey";
import * as nodeRedis from "@redis-credentials/node-redis";
import { createGlideClient, createGlideClusterClient } from "@redis-credentials/valkey-glide";
import { ClosingError } from "@valkey/valkey-glide";
import { Redis as IoredisRedis, ReplyError } from "ioredis";
import { ReplyError as IovalkeyReplyError } from "iovalkey";
import { RootNodesUnavailableError, SimpleError, SocketClosedUnexpectedlyError } from "redis";
import { closeQuietly, type ErrorClass, SECRET } from "./bad-input-row";
import { type JunkReply, type JunkServer, startJunkServer } from "./bad-input-servers";

/*
 * Servers replying garbage to AUTH/HELLO: a TCP server on 127.0.0.1 answers each adapter's
 * handshake with an error reply, a bare +OK where HELLO owes a map, bytes that are no RESP, or the
 * start of a reply and a closed socket. Each row connects one adapter to one such server and
 * must get, within a bound, an error — the connect's rejection or the client's `error` event —
 * of the expected class whose message names what went wrong: never a crash, a hang or an
 * unhandled rejection (jest.setup.cjs fails the file on one). A "+OK to HELLO" row may also
 * connect: every command gets +OK, which a RESP2 handshake reads as success.
 */

const BOUND_MS = 10_000;

/** How a row connects: the connect's promise, and a hook for the client's `error` events. */
type Connect = (
  server: JunkServer,
  manager: TokenManager,
  onError: (error: unknown) => void,
) => Promise<unknown>;

const address = (server: JunkServer) => ({ host: server.host, port: server.port });

/**
 * ioredis's default reconnect delays, until the row is over: then no more reconnects, so that a
 * client whose connect never settled (its factory never handed it over) ends instead of retrying
 * for the rest of the run.
 */
let rowOver = false;
const retryStrategy = (times: number) => (rowOver ? null : Math.min(times * 50, 2_000));
const clusterRetryStrategy = (times: number) => (rowOver ? null : Math.min(100 + times * 2, 2_000));

const adapters: Record<string, Connect> = {
  "ioredis.createRedis": (server, manager) =>
    ioredisAdapter.createRedis(manager, {
      ...address(server),
      retryStrategy,
      allowInsecureTransport: true,
    }),
  "ioredis.bindCredentials": async (server, manager, onError) => {
    const client = new IoredisRedis({ ...address(server), retryStrategy, lazyConnect: true });
    client.on("error", onError);
    ioredisAdapter.bindCredentials(client, manager, { allowInsecureTransport: true });
    closers.push(() => client.disconnect());
    await client.connect();
    return client;
  },
  "iovalkey.createRedis": (server, manager) =>
    iovalkeyAdapter.createRedis(manager, {
      ...address(server),
      retryStrategy,
      allowInsecureTransport: true,
    }),
  "ioredis.createCluster": (server, manager) =>
    ioredisAdapter.createCluster(manager, [address(server)], {
      clusterRetryStrategy,
      allowInsecureTransport: true,
    }),
  "iovalkey.createCluster": (server, manager) =>
    iovalkeyAdapter.createCluster(manager, [address(server)], {
      clusterRetryStrategy,
      allowInsecureTransport: true,
    }),
  "node-redis.createClient (RESP3)": async (server, manager, onError) => {
    const client = nodeRedis.createClient(manager, {
      socket: address(server),
      allowInsecureTransport: true,
    });
    client.on("error", onError);
    closers.push(() => client.destroy());
    return client.connect();
  },
  "node-redis.createClient (RESP2)": async (server, manager, onError) => {
    const client = nodeRedis.createClient(manager, {
      socket: address(server),
      RESP: 2,
      allowInsecureTransport: true,
    });
    client.on("error", onError);
    closers.push(() => client.destroy());
    return client.connect();
  },
  "node-redis.createCluster": async (server, manager, onError) => {
    const cluster = nodeRedis.createCluster(manager, {
      rootNodes: [{ socket: address(server) }],
      allowInsecureTransport: true,
    });
    cluster.on("error", onError);
    closers.push(() => cluster.destroy());
    return cluster.connect();
  },
  "valkey-glide.createGlideClient": (server, manager) =>
    createGlideClient(manager, { addresses: [address(server)], allowInsecureTransport: true }),
  "valkey-glide.createGlideClusterClient": (server, manager) =>
    createGlideClusterClient(manager, {
      addresses: [address(server)],
      allowInsecureTransport: true,
    }),
};

/** What each adapter must report for each junk reply: the error's class and a fragment. */
interface Expected {
  error: ErrorClass;
  message: RegExp;
  /** A "+OK to HELLO" row may connect instead. */
  mayConnect?: boolean;
}

const IOREDIS_CLOSED: Expected = { error: Error, message: /clos/i };
const expected: Record<string, Record<JunkReply, Expected>> = {
  "ioredis.createRedis": {
    err: { error: ReplyError, message: /weird/ },
    "hello-ok": { error: Error, message: /HELLO/, mayConnect: true },
    binary: { error: Error, message: /RESP|Protocol error/ },
    "close-mid-reply": IOREDIS_CLOSED,
    silent: IOREDIS_CLOSED,
  },
  "ioredis.bindCredentials": {
    err: { error: ReplyError, message: /weird/ },
    "hello-ok": { error: Error, message: /HELLO/, mayConnect: true },
    binary: { error: Error, message: /RESP|Protocol error/ },
    "close-mid-reply": IOREDIS_CLOSED,
    silent: IOREDIS_CLOSED,
  },
  "iovalkey.createRedis": {
    err: { error: IovalkeyReplyError, message: /weird/ },
    "hello-ok": { error: Error, message: /HELLO/, mayConnect: true },
    binary: { error: Error, message: /RESP|Protocol error/ },
    "close-mid-reply": { error: Error, message: /clos|max retries/i },
    silent: IOREDIS_CLOSED,
  },
  "ioredis.createCluster": clusterExpectations(),
  "iovalkey.createCluster": clusterExpectations(),
  "node-redis.createClient (RESP3)": nodeRedisExpectations(),
  "node-redis.createClient (RESP2)": nodeRedisExpectations(),
  // The cluster's `error` event comes first, with what the node's connection got.
  "node-redis.createCluster": {
    err: { error: SimpleError, message: /weird/ },
    // node-redis reads CLUSTER SLOTS' +OK as an array: a TypeError, reported as an error event.
    "hello-ok": { error: TypeError, message: /reply/ },
    binary: { error: Error, message: /RESP/ },
    "close-mid-reply": { error: SocketClosedUnexpectedlyError, message: /closed/ },
    silent: { error: RootNodesUnavailableError, message: /root nodes/ },
  },
  "valkey-glide.createGlideClient": glideExpectations(),
  "valkey-glide.createGlideClusterClient": glideExpectations(),
};

function clusterExpectations(): Record<JunkReply, Expected> {
  const unavailable = { error: Error, message: /startup nodes|slots/ };
  return {
    err: unavailable,
    "hello-ok": unavailable,
    binary: unavailable,
    "close-mid-reply": unavailable,
    silent: unavailable,
  };
}

function nodeRedisExpectations(): Record<JunkReply, Expected> {
  return {
    err: { error: SimpleError, message: /weird/ },
    "hello-ok": { error: Error, message: /HELLO/, mayConnect: true },
    binary: { error: Error, message: /RESP|type|protocol/i },
    "close-mid-reply": { error: SocketClosedUnexpectedlyError, message: /closed/ },
    silent: { error: Error, message: /timeout/i },
  };
}

function glideExpectations(): Record<JunkReply, Expected> {
  return {
    err: { error: ClosingError, message: /Connection error/ },
    "hello-ok": { error: ClosingError, message: /Connection error/ },
    binary: { error: ClosingError, message: /Connection error/ },
    "close-mid-reply": { error: ClosingError, message: /Connection error/ },
    silent: { error: ClosingError, message: /Connection error/ },
  };
}

const JUNK: JunkReply[] = ["err", "hello-ok", "binary", "close-mid-reply"];
const servers = new Map<JunkReply, JunkServer>();
const closers: (() => unknown)[] = [];
let manager: TokenManager;

beforeAll(async () => {
  for (const junk of JUNK) servers.set(junk, await startJunkServer(junk));
  manager = createTokenManager(staticCredentials({ username: "app", password: SECRET }));
});

beforeEach(() => {
  rowOver = false;
});

afterEach(async () => {
  rowOver = true;
  await Promise.allSettled(closers.splice(0).map(async (close) => close()));
});

afterAll(async () => {
  await manager?.dispose();
  await Promise.all([...servers.values()].map((server) => server.stop()));
});

/** The first of: the connect's rejection, an `error` event, the connect resolving, the bound. */
async function outcomeOf(connect: Connect, server: JunkServer) {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await new Promise<{ kind: "error" | "connected" | "hung"; value?: unknown }>(
    (resolve) => {
      timer = setTimeout(() => resolve({ kind: "hung" }), BOUND_MS);
      connect(server, manager, (error) => resolve({ kind: "error", value: error })).then(
        (client) => {
          closers.push(() => closeQuietly(client));
          resolve({ kind: "connected", value: client });
        },
        (error: unknown) => resolve({ kind: "error", value: error }),
      );
    },
  );
  clearTimeout(timer);
  return { ...outcome, ms: Date.now() - start };
}

const rows = Object.keys(adapters).flatMap((adapter) =>
  JUNK.map((junk) => [adapter, junk] as [string, JunkReply]),
);

test.each(rows)(
  "%s against a server answering %s",
  async (adapter, junk) => {
    const server = servers.get(junk) as JunkServer;
    const want = (expected[adapter] as Record<JunkReply, Expected>)[junk];
    const outcome = await outcomeOf(adapters[adapter] as Connect, server);
    if (outcome.kind === "connected" && want.mayConnect) return;
    const error = outcome.value as Error | undefined;
    const message = String(error?.message);
    expect({
      outcome: outcome.kind,
      instanceOf:
        error instanceof want.error
          ? want.error.name
          : String((error as { constructor?: { name?: string } } | undefined)?.constructor?.name),
      named: typeof error?.name === "string" && error.name.length > 0,
      message: want.message.test(message) ? "names what went wrong" : message.slice(0, 300),
      showsSecret: message.includes(SECRET),
    }).toEqual({
      outcome: "error",
      instanceOf: want.error.name,
      named: true,
      message: "names what went wrong",
      showsSecret: false,
    });
    expect(outcome.ms).toBeLessThan(BOUND_MS);
  },
  30_000,
);
