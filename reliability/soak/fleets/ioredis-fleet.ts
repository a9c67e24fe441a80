import type { TokenManager } from "@redis-credentials/core";
import * as ioredisAdapter from "@redis-credentials/ioredis";
import * as iovalkeyAdapter from "@redis-credentials/iovalkey";
import type { Ledger } from "../ledger";
import type { Workload } from "../workload";
import {
  blockingWorkloads,
  channelOf,
  countListeners,
  type Fleet,
  type FleetContext,
  inBatches,
  kvWorkloads,
  publishWorkload,
  transactionWorkload,
} from "./fleet";

// Loose types: ioredis 6 and iovalkey have the same API with distinct classes.
type Client = any;

const libraries = { ioredis: ioredisAdapter, iovalkey: iovalkeyAdapter } as const;

function subscribe(client: Client, ledger: Ledger, fleet: string, name: string, resp: 2 | 3) {
  const tally = ledger.subscriber(fleet, name, resp);
  client.on("message", (_channel: string, message: string) => ledger.receive(tally, message));
  return client.subscribe(channelOf(fleet));
}

/**
 * ioredis or iovalkey clients on one topology. Standalone: plain clients (key-value loops, one
 * running transactions, one publishing, one pushing), a client blocked in BLPOP, RESP3 (ioredis 6
 * only) and RESP2 subscribers. Cluster: the same with Cluster clients (3 connections each).
 */
export async function ioredisFleet(
  context: FleetContext & { adapter: "ioredis" | "iovalkey" },
): Promise<Fleet> {
  const { adapter, manager, server, topology, ledger } = context;
  const library = libraries[adapter];
  const fleet = `${adapter} ${topology}`;
  const resps: (2 | 3)[] = adapter === "ioredis" ? [3, 2] : [2];
  const make = makeClient(library, manager, server, topology);
  const perClient = topology === "cluster" ? server.nodes.length : 1;
  // The blocking client and the subscribers (a cluster subscriber is one more connection).
  const extra = perClient + resps.length * (topology === "cluster" ? perClient + 1 : 1);
  const count = Math.max(2, Math.floor((context.budget - extra) / perClient));
  const plain: Client[] = await inBatches(count, 20, () => make({}));
  const blocking: Client = await make({});
  const subscribers: Client[] = [];
  for (const resp of resps) {
    const subscriber = await make({ protocol: resp });
    await subscribe(subscriber, ledger, fleet, "subscriber", resp);
    subscribers.push(subscriber);
  }
  const all = [...plain, blocking, ...subscribers];
  for (const client of all) client.on("error", (error: Error) => ledger.clientError(fleet, error));
  const [first, second] = plain;
  const workloads: Workload[] = [
    ...kvWorkloads(fleet, () => plain),
    transactionWorkload(fleet, async (key, value, counter) => {
      const replies = await first.multi().set(key, value).incr(counter).exec();
      return replies?.map(([error, reply]: [Error | null, unknown]) => {
        if (error) throw error;
        return reply;
      });
    }),
    ...blockingWorkloads(
      fleet,
      (key, seconds) => blocking.blpop(key, seconds),
      (key, value) => second.lpush(key, value),
    ),
    publishWorkload(fleet, ledger, (channel, message) => first.publish(channel, message)),
  ];
  return {
    name: fleet,
    workloads,
    listeners: () =>
      countListeners(
        all.flatMap((client) => (topology === "cluster" ? [client, ...client.nodes()] : [client])),
      ),
    async close() {
      for (const client of all) client.disconnect();
    },
  };
}

function makeClient(
  library: (typeof libraries)[keyof typeof libraries],
  manager: TokenManager,
  server: FleetContext["server"],
  topology: FleetContext["topology"],
) {
  return (options: { protocol?: 2 | 3 }): Promise<Client> => {
    if (topology === "standalone") {
      return library.createRedis(manager, {
        host: server.host,
        port: server.port,
        allowInsecureTransport: true,
        ...(options as object),
      });
    }
    return library.createCluster(manager, [{ host: server.host, port: server.port }], {
      allowInsecureTransport: true,
      // A bounded backoff, so that a restarted node's clients are back within the grace period.
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 1_000),
      redisOptions: { ...(options as object) },
    });
  };
}
