import { createClient, createClientPool, createCluster } from "@redis-credentials/node-redis";
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

// node-redis's generic client types (modules, scripts, RESP, type mapping) add nothing here.
type Client = any;

const POOL_SIZE = 10;

/**
 * node-redis clients on one topology. Standalone: plain clients and a pool of 10 (key-value
 * loops, a transaction, the publisher and the pusher on plain clients), a client blocked in
 * BLPOP, RESP3 and RESP2 subscribers. Cluster: cluster clients (a connection per master each), one
 * of them for BLPOP alone, and RESP3 and RESP2 cluster subscribers.
 */
export async function nodeRedisFleet(context: FleetContext): Promise<Fleet> {
  const { manager, server, topology, ledger } = context;
  const fleet = `node-redis ${topology}`;
  const resps = [3, 2] as const;
  const perClient = topology === "cluster" ? server.nodes.length : 1;
  const make = async (options: { RESP?: 2 | 3 } = {}): Promise<Client> => {
    const client =
      topology === "standalone"
        ? createClient(manager, {
            socket: { host: server.host, port: server.port },
            allowInsecureTransport: true,
            ...options,
          })
        : createCluster(manager, {
            rootNodes: [{ socket: { host: server.host, port: server.port } }],
            defaults: { socket: {} },
            allowInsecureTransport: true,
            ...options,
          } as any);
    client.on("error", (error: Error) => ledger.clientError(fleet, error));
    await client.connect();
    return client;
  };
  const pool: Client | undefined =
    topology === "standalone"
      ? createClientPool(
          manager,
          { socket: { host: server.host, port: server.port }, allowInsecureTransport: true },
          { minimum: POOL_SIZE, maximum: POOL_SIZE },
        )
      : undefined;
  if (pool) {
    pool.on("error", (error: Error) => ledger.clientError(fleet, error));
    await pool.connect();
  }
  const extra = (pool ? POOL_SIZE : 0) + perClient + resps.length * (perClient + 1);
  const count = Math.max(2, Math.floor((context.budget - extra) / perClient));
  const plain: Client[] = await inBatches(count, 20, () => make());
  const blocking = await make();
  const subscribers: Client[] = [];
  for (const RESP of resps) {
    const subscriber = await make({ RESP });
    const tally = ledger.subscriber(fleet, "subscriber", RESP);
    await subscriber.subscribe(channelOf(fleet), (message: string) =>
      ledger.receive(tally, message),
    );
    subscribers.push(subscriber);
  }
  const all = [...plain, blocking, ...subscribers];
  const [first, second] = plain;
  const kvClients = pool ? [...plain, pool] : plain;
  const workloads: Workload[] = [
    ...kvWorkloads(fleet, () => kvClients),
    transactionWorkload(fleet, (key, value, counter) =>
      first.multi().set(key, value).incr(counter).exec(),
    ),
    ...blockingWorkloads(
      fleet,
      (key, seconds) => blocking.blPop(key, seconds),
      (key, value) => second.lPush(key, value),
    ),
    publishWorkload(fleet, ledger, (channel, message) => first.publish(channel, message)),
  ];
  return {
    name: fleet,
    workloads,
    listeners: () => countListeners(pool ? [...all, pool] : all),
    async close() {
      await Promise.all([...all, ...(pool ? [pool] : [])].map((client) => client.close()));
    },
  };
}
