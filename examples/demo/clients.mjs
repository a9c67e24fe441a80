// The Redis clients of the demo, all on ONE token manager: each connection subscribes to it, so
// a rotation costs one fetch from the identity provider however many connections there are,
// and the manager staggers their re-AUTHs over `reauthSpreadMs`.
//
// Each client becomes a "worker": a name and one `op()` the workload calls in a loop. Pub/sub is
// a publisher (a node-redis client) and a subscriber (its RESP3 duplicate, re-authenticated in
// place: no reconnect, so no message should be lost).
import * as ioredis from "@redis-credentials/ioredis";
import * as nodeRedis from "@redis-credentials/node-redis";
import { createGlideClient } from "@redis-credentials/valkey-glide";

export const CHANNEL = "demo:ticks";

/**
 * `target` is either the local stack ({ standalone, cluster }, each with its CA) or Azure
 * ({ azure: { host, port, cluster } }). Returns { workers, pubsub, names, close }.
 * `onClientError(name, error)` hears connection-level errors (commands report their own).
 */
export async function connectClients(manager, target, onClientError) {
  const opened = [];
  const track = (client) => {
    opened.push(client);
    return client;
  };
  try {
    return await connect(manager, target, onClientError, track, opened);
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
}

async function connect(manager, target, onClientError, track, opened) {
  const workers = [];
  let publisher;
  let subscriber;
  // node-redis client ids, to say on whose connection a re-AUTH landed.
  const names = new Map();
  const azure = target.azure;

  // --- standalone: an ioredis client, a node-redis client, a pub/sub subscriber ---------------
  const standalone = azure ? (azure.cluster ? undefined : azure) : target.standalone;
  if (standalone) {
    const { host, port } = standalone;
    // Locally: trust the test CA. On Azure: the public CAs, and SNI with the cache's name.
    const tls = azure ? { servername: host } : { ca: standalone.ca };

    const io = track(await ioredis.createRedis(manager, { host, port, tls }));
    io.on("error", (error) => onClientError("ioredis", error));
    workers.push(worker("ioredis", io, "io"));

    const nr = track(
      nodeRedis.createClient(manager, { socket: { host, port, tls: true, ...tls } }),
    );
    nr.on("error", (error) => onClientError("node-redis", error));
    await nr.connect();
    names.set(nr._clientId, "node-redis");
    workers.push(worker("node-redis", nr, "nr"));

    // Valkey GLIDE: one password update per client at each rotation, through the same manager.
    const glide = track(
      await createGlideClient(manager, {
        addresses: [{ host, port }],
        useTLS: true,
        advancedConfiguration: {
          tlsAdvancedConfiguration: azure ? {} : { rootCertificates: standalone.ca },
        },
        onError: (error) => onClientError("valkey-glide", error),
      }),
    );
    workers.push(worker("valkey-glide", glide, "gl"));

    // A duplicate keeps the adapter: same manager, its own connection in subscribe mode.
    subscriber = track(nr.duplicate());
    subscriber.on("error", (error) => onClientError("subscriber", error));
    await subscriber.connect();
    names.set(subscriber._clientId, "subscriber");
    publisher = nr;
  }

  // --- cluster: an ioredis cluster client (and on Azure a node-redis cluster for pub/sub) -------
  const cluster = azure ? (azure.cluster ? azure : undefined) : target.cluster;
  if (cluster) {
    const nodes = azure ? [{ host: azure.host, port: azure.port }] : cluster.nodes;
    const options = azure
      ? {
          // Azure's nodes share the cache's certificate: connect to the addresses the cluster
          // announces as they are, and present the cache's name for TLS.
          dnsLookup: (address, callback) => callback(null, address),
          redisOptions: { tls: { servername: azure.host } },
        }
      : { redisOptions: { tls: { ca: cluster.ca } } };
    const ioc = track(await ioredis.createCluster(manager, nodes, options));
    ioc.on("error", (error) => onClientError("ioredis cluster", error));
    workers.push(worker("ioredis cluster", ioc, "ioc"));

    if (azure) {
      // No standalone connection on a cluster cache: pub/sub and node-redis go through the cluster.
      const nrc = track(
        nodeRedis.createCluster(manager, {
          rootNodes: [{ socket: { host: azure.host, port: azure.port } }],
          defaults: { socket: { tls: true, servername: azure.host } },
        }),
      );
      nrc.on("error", (error) => onClientError("node-redis cluster", error));
      await nrc.connect();
      workers.push(worker("node-redis cluster", nrc, "nrc"));
      publisher = nrc;
      subscriber = nrc;
    }
  }

  const pubsub = {
    publish: (message) => publisher.publish(CHANNEL, message),
    subscribe: (listener) => subscriber.subscribe(CHANNEL, listener),
  };
  return { workers, pubsub, names, close: () => closeAll(opened) };
}

/**
 * One client's share of the workload: SET, GET and INCR in turn, on keys spread over 64 hash
 * slots so that every cluster master gets its part. ioredis, node-redis and GLIDE spell these alike.
 */
function worker(name, client, prefix) {
  let n = 0;
  return {
    name,
    op() {
      const i = n++;
      const key = `demo:${prefix}:{${i % 64}}`;
      switch (i % 3) {
        case 0:
          return client.set(key, String(i));
        case 1:
          return client.get(key);
        default:
          return client.incr(`${key}:count`);
      }
    },
  };
}

/** node-redis 6 and GLIDE: close(); ioredis: quit(). The server sees the connections close. */
async function closeAll(clients) {
  await Promise.allSettled(
    [...new Set(clients)]
      .reverse()
      .map((client) => (typeof client.close === "function" ? client.close() : client.quit())),
  );
}
