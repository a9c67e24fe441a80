import {
  InvalidOptionsError,
  ManagerDisposedError,
  type TokenManager,
} from "@redis-credentials/core";
import * as ioredisAdapter from "@redis-credentials/ioredis";
import * as iovalkeyAdapter from "@redis-credentials/iovalkey";
import * as nodeRedis from "@redis-credentials/node-redis";
import { createGlideClient, createGlideClusterClient } from "@redis-credentials/valkey-glide";
import { Redis as IoredisRedis } from "ioredis";
import { Redis as IovalkeyRedis } from "iovalkey";
import type { BadInputContext } from "./bad-input-context";
import { type BadInputRow, SECRET } from "./bad-input-row";

/** Where the rows point clients: a port nothing listens on, as no row may get that far. */
const HOST = "127.0.0.1";
const PORT = 1;

function invalid(entry: string, input: string, run: () => unknown, message: string): BadInputRow {
  return { entry, input, run, error: InvalidOptionsError, message };
}

/** The same rows for the ioredis adapter and the iovalkey one (its own copy of the code). */
function ioredisFamilyRows(
  context: BadInputContext,
  name: "ioredis" | "iovalkey",
  adapter: typeof ioredisAdapter | typeof iovalkeyAdapter,
  RedisClass: typeof IoredisRedis | typeof IovalkeyRedis,
): BadInputRow[] {
  const lazy = () =>
    context.track(
      new (RedisClass as typeof IoredisRedis)({ host: HOST, port: PORT, lazyConnect: true }),
      (client) => client.disconnect(),
    );
  const create = (manager: () => TokenManager, options: unknown) => async () => {
    const client = await adapter.createRedis(manager(), options as never);
    context.track(client, (it) => it.disconnect());
    return client;
  };
  return [
    invalid(
      `${name}.createRedis`,
      "a plain object for the manager",
      create(() => ({}) as never, { host: HOST }),
      "`manager`",
    ),
    {
      entry: `${name}.createRedis`,
      input: "a disposed manager",
      run: create(() => context.disposedManager(), { host: HOST, port: PORT }),
      error: ManagerDisposedError,
      message: "disposed",
    },
    invalid(
      `${name}.createRedis`,
      "options a string (a URL)",
      create(() => context.manager(), `redis://${HOST}`),
      "`options`",
    ),
    invalid(
      `${name}.createRedis`,
      "a password in the options",
      create(() => context.manager(), { password: SECRET }),
      "`options`",
    ),
    invalid(
      `${name}.createRedis`,
      "unknown key allowInsecureTransprt (typo)",
      create(() => context.manager(), {
        host: HOST,
        port: PORT,
        lazyConnect: true,
        allowInsecureTransprt: true,
      }),
      "allowInsecureTransprt",
    ),
    invalid(
      `${name}.createRedis`,
      "allowInsecureTransport a string",
      create(() => context.manager(), {
        host: HOST,
        port: PORT,
        lazyConnect: true,
        tls: {},
        allowInsecureTransport: "yes",
      }),
      "allowInsecureTransport",
    ),
    invalid(
      `${name}.createCluster`,
      "a username in redisOptions",
      () =>
        adapter.createCluster(context.manager(), [{ host: HOST, port: PORT }], {
          redisOptions: { username: "app" },
        }),
      "`options.redisOptions`",
    ),
    invalid(
      `${name}.createCluster`,
      "startupNodes not an array",
      () =>
        adapter.createCluster(context.manager(), `${HOST}:${PORT}` as never, {
          lazyConnect: true,
          allowInsecureTransport: true,
        }),
      "startupNodes",
    ),
    invalid(
      `${name}.createCluster`,
      "unknown key allowInsecureTransprt (typo)",
      () =>
        adapter.createCluster(context.manager(), [{ host: HOST, port: PORT }], {
          lazyConnect: true,
          allowInsecureTransprt: true,
        } as never),
      "allowInsecureTransprt",
    ),
    invalid(
      `${name}.bindCredentials`,
      "a plain object for the client",
      () => adapter.bindCredentials({} as never, context.manager()),
      "`client`",
    ),
    invalid(
      `${name}.bindCredentials`,
      "a string for the manager",
      () => adapter.bindCredentials(lazy() as never, "manager" as never),
      "`manager`",
    ),
    {
      entry: `${name}.bindCredentials`,
      input: "a disposed manager",
      run: () =>
        adapter.bindCredentials(lazy() as never, context.disposedManager(), {
          allowInsecureTransport: true,
        }),
      error: ManagerDisposedError,
      message: "disposed",
    },
    invalid(
      `${name}.bindCredentials`,
      "a client bound twice",
      () => {
        const client = lazy();
        const manager = context.manager();
        adapter.bindCredentials(client as never, manager, { allowInsecureTransport: true });
        return adapter.bindCredentials(client as never, manager, { allowInsecureTransport: true });
      },
      "already bound",
    ),
    invalid(
      `${name}.bindCredentials`,
      "unknown key allowInsecureTransprt (typo)",
      () =>
        adapter.bindCredentials(lazy() as never, context.manager(), {
          allowInsecureTransprt: true,
        } as never),
      "allowInsecureTransprt",
    ),
  ];
}

function nodeRedisRows(context: BadInputContext): BadInputRow[] {
  const socket = { host: HOST, port: PORT };
  const entry = "node-redis";
  const client =
    (options: unknown, manager = () => context.manager()) =>
    () =>
      nodeRedis.createClient(manager(), options as never);
  return [
    invalid(
      `${entry}.createClient`,
      "a plain object for the manager",
      client({ socket: { ...socket, tls: true } }, () => ({}) as never),
      "`manager`",
    ),
    invalid(
      `${entry}.createClient`,
      "options a string (a URL)",
      client(`redis://${HOST}`),
      "`options`",
    ),
    invalid(
      `${entry}.createClient`,
      "a password in the options",
      client({ socket, password: SECRET }),
      "`options`",
    ),
    invalid(
      `${entry}.createClient`,
      "credentials in the URL",
      client({ url: `redis://app:${SECRET}@${HOST}:${PORT}` }),
      "`options.url`",
    ),
    invalid(
      `${entry}.createClient`,
      "a credentialsProvider of its own",
      client({ socket, credentialsProvider: {} }),
      "`options`",
    ),
    invalid(
      `${entry}.createClient`,
      "unknown key allowInsecureTransprt (typo)",
      client({ socket, allowInsecureTransprt: true }),
      "allowInsecureTransprt",
    ),
    invalid(
      `${entry}.createClientPool`,
      "a username in the options",
      () => nodeRedis.createClientPool(context.manager(), { socket, username: "app" } as never),
      "`options`",
    ),
    invalid(
      `${entry}.createCluster`,
      "no rootNodes",
      () => nodeRedis.createCluster(context.manager(), {} as never),
      "`options.rootNodes`",
    ),
    invalid(
      `${entry}.createCluster`,
      "a password in a root node",
      () =>
        nodeRedis.createCluster(context.manager(), {
          rootNodes: [{ socket, password: SECRET }],
        } as never),
      "`options.rootNodes[0]`",
    ),
    invalid(
      `${entry}.createCluster`,
      "unknown nested key defaults.allowInsecureTransprt",
      () =>
        nodeRedis.createCluster(context.manager(), {
          rootNodes: [{ socket }],
          defaults: { allowInsecureTransprt: true },
        } as never),
      "allowInsecureTransprt",
    ),
    invalid(
      `${entry}.createSentinel`,
      "no name",
      () => nodeRedis.createSentinel(context.manager(), { sentinelRootNodes: [socket] } as never),
      "`options.name`",
    ),
    invalid(
      `${entry}.createSentinel`,
      "a password in nodeClientOptions",
      () =>
        nodeRedis.createSentinel(context.manager(), {
          name: "mymaster",
          sentinelRootNodes: [socket],
          nodeClientOptions: { password: SECRET },
        } as never),
      "`options.nodeClientOptions`",
    ),
    invalid(
      `${entry}.credentialsProvider`,
      "a plain object for the manager",
      () => nodeRedis.credentialsProvider({} as never),
      "`manager`",
    ),
    invalid(
      `${entry}.credentialsProvider`,
      "onReAuthenticationError not a function",
      () =>
        nodeRedis.credentialsProvider(context.manager(), { onReAuthenticationError: 5 as never }),
      "`onReAuthenticationError`",
    ),
    invalid(
      `${entry}.credentialsProvider`,
      "unknown key allowInsecureTransprt (typo)",
      () =>
        context.track(
          nodeRedis.credentialsProvider(context.manager(), {
            allowInsecureTransprt: true,
          } as never),
          (it) => it.dispose(),
        ),
      "allowInsecureTransprt",
    ),
  ];
}

function glideRows(context: BadInputContext): BadInputRow[] {
  const addresses = [{ host: HOST, port: PORT }];
  const entry = "valkey-glide.createGlideClient";
  const glide =
    (config: unknown, manager = () => context.manager()) =>
    () =>
      createGlideClient(manager(), config as never);
  return [
    invalid(
      entry,
      "a plain object for the manager",
      glide({ addresses }, () => ({}) as never),
      "`manager`",
    ),
    invalid(entry, "config a string", glide(`${HOST}:${PORT}`), "`config`"),
    invalid(entry, "no addresses", glide({}), "`config.addresses`"),
    invalid(entry, "addresses empty", glide({ addresses: [] }), "`config.addresses`"),
    invalid(
      entry,
      "credentials in the config",
      glide({ addresses, credentials: { password: SECRET } }),
      "`config`",
    ),
    invalid(
      entry,
      "onError not a function",
      glide({ addresses, onError: "log" }),
      "`config.onError`",
    ),
    invalid(
      entry,
      "unknown key allowInsecureTransprt (typo)",
      glide({ addresses, allowInsecureTransprt: true }),
      "allowInsecureTransprt",
    ),
    invalid(
      "valkey-glide.createGlideClusterClient",
      "addresses a string",
      () => createGlideClusterClient(context.manager(), { addresses: `${HOST}:${PORT}` } as never),
      "`config.addresses`",
    ),
    invalid(
      "valkey-glide.createGlideClusterClient",
      "unknown key allowInsecureTransprt (typo)",
      () =>
        createGlideClusterClient(context.manager(), {
          addresses,
          allowInsecureTransprt: true,
        } as never),
      "allowInsecureTransprt",
    ),
  ];
}

export function adapterRows(context: BadInputContext): BadInputRow[] {
  return [
    ...ioredisFamilyRows(context, "ioredis", ioredisAdapter, IoredisRedis),
    ...ioredisFamilyRows(context, "iovalkey", iovalkeyAdapter, IovalkeyRedis),
    ...nodeRedisRows(context),
    ...glideRows(context),
  ];
}
