import { createGlideClient, createGlideClusterClient } from "@redis-credentials/valkey-glide";
import {
  Batch,
  ClusterBatch,
  GlideClientConfiguration,
  GlideClusterClientConfiguration,
  Logger,
  ProtocolVersion,
} from "@valkey/valkey-glide";
import type { Workload } from "../workload";
import {
  blockingWorkloads,
  channelOf,
  type Fleet,
  type FleetContext,
  inBatches,
  kvWorkloads,
  publishWorkload,
  transactionWorkload,
} from "./fleet";

// GlideClient and GlideClusterClient differ in their batch classes and routing options only.
type Client = any;

/** A ping answered within this long tells a live client (GLIDE's own timeout is 5 s here). */
const RECOVERY_PING_MS = 2_000;

/**
 * valkey-glide clients on one topology: plain clients (key-value loops, a transaction, the
 * publisher and the pusher), a client blocked in BLPOP, and a RESP3 subscriber (GLIDE refuses
 * pub/sub on RESP2). Standalone clients hold one connection; cluster clients two per node (one
 * for commands, one for topology checks).
 */
export async function glideFleet(context: FleetContext): Promise<Fleet> {
  // GLIDE logs every reconnect at WARN on stderr: hundreds of lines per fault.
  Logger.setLoggerConfig("error");
  const { manager, server, topology, ledger } = context;
  const fleet = `valkey-glide ${topology}`;
  const cluster = topology === "cluster";
  const perClient = cluster ? 2 * server.nodes.length : 1;
  const tally = ledger.subscriber(fleet, "subscriber", 3);
  const make = (subscriber = false): Promise<Client> => {
    const options = {
      addresses: [{ host: server.host, port: server.port }],
      allowInsecureTransport: true,
      protocol: ProtocolVersion.RESP3,
      // Longer than any pause the soak injects (GLIDE's default is 250 ms).
      requestTimeout: 5_000,
      advancedConfiguration: { connectionTimeout: 5_000 },
      ...(subscriber && {
        pubsubSubscriptions: {
          channelsAndPatterns: {
            [cluster
              ? GlideClusterClientConfiguration.PubSubChannelModes.Exact
              : GlideClientConfiguration.PubSubChannelModes.Exact]: new Set([channelOf(fleet)]),
          },
          callback: (message: { message: unknown }) =>
            ledger.receive(tally, String(message.message)),
        },
      }),
    };
    return cluster
      ? createGlideClusterClient(manager, options as any)
      : createGlideClient(manager, options as any);
  };
  const count = Math.max(2, Math.floor((context.budget - 2 * perClient) / perClient));
  const plain: Client[] = await inBatches(count, 10, () => make());
  const blocking: Client[] = [await make()];
  const subscriber: Client[] = [await make(true)];
  const groups = [plain, blocking, subscriber];
  const workloads: Workload[] = [
    ...kvWorkloads(fleet, () => plain),
    transactionWorkload(fleet, (key, value, counter) => {
      const batch = cluster ? new ClusterBatch(true) : new Batch(true);
      return plain[0].exec(batch.set(key, value).incr(counter), true);
    }),
    ...blockingWorkloads(
      fleet,
      (key, seconds) => blocking[0].blpop([key], seconds),
      (key, value) => plain[1].lpush(key, [value]),
    ),
    publishWorkload(fleet, ledger, (channel, message) => plain[0].publish(message, channel)),
  ];
  return {
    name: fleet,
    workloads,
    listeners: () => 0,
    /** Clients that do not answer a ping are made again, 10 at a time. */
    async recover() {
      const stuck: [Client[], number][] = [];
      for (const group of groups) {
        const live = await Promise.all(group.map(answers));
        live.forEach((ok, i) => {
          if (!ok) stuck.push([group, i]);
        });
      }
      for (let i = 0; i < stuck.length; i += 10) {
        await Promise.all(
          stuck.slice(i, i + 10).map(async ([group, index]) => {
            const replacement = await makeAgain(() => make(group === subscriber));
            group[index].close();
            group[index] = replacement;
          }),
        );
      }
      return stuck.length;
    },
    async close() {
      for (const group of groups) for (const client of group) client.close();
    },
  };
}

/** A few attempts: right after the outage the machine is busy with every reconnect at once. */
async function makeAgain(make: () => Promise<Client>): Promise<Client> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await make();
    } catch (error) {
      if (attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

async function answers(client: Client): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), RECOVERY_PING_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
