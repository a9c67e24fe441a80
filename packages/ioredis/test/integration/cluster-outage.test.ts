/**
 * A cluster's RESP2 pub/sub connection that ends while the adapter's reconnect is resubscribing
 * it. ioredis's ClusterSubscriber subscribes the next connection to what the ended one's
 * `condition` holds, and a reconnect's fresh `condition` holds the channels only once Redis
 * confirms the resubscription: the adapter must hand them back, or the cluster's subscriber
 * ends up subscribed to nothing, for good.
 */
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { createCluster } from "../../src";
import { clusterSubscriberConnections } from "../../src/ioredis-internals";
import { clusterOptions, seedNodes } from "./cluster-helpers";
import { type Fixture, resp3Available, sleep, startFixture } from "./helpers";
import { managerFor, switchableSource, waitFor } from "./standalone-helpers";

let fixture: Fixture;

beforeAll(async () => {
  fixture = await startFixture({ tls: false, cluster: { masters: 3 } });
}, 60_000);

afterAll(async () => {
  await fixture?.stop();
});

/** The index (for pauseNode) of the node `redis` is connected to. */
function nodeIndexOf(redis: Redis): number {
  const index = fixture.server.nodes.findIndex((node) => node.port === redis.options.port);
  if (index < 0) throw new Error(`no node listens on port ${redis.options.port}`);
  return index;
}

it("a RESP2 cluster subscriber killed before Redis confirmed its resubscription passes its channels on to the next subscriber connection", async () => {
  // Tokens that outlive the test: the one rotation is forced, at a moment of the test's choice.
  const manager = fixture.manager({ lifetimeMs: 30_000, refreshBeforeExpiryMs: 5_000 });
  const cluster: Cluster = await createCluster(
    manager,
    seedNodes(fixture),
    clusterOptions(
      fixture,
      resp3Available ? { redisOptions: { protocol: 2 } as RedisOptions } : {},
    ),
  );
  const received: string[] = [];
  cluster.on("message", (channel: string, message: string) => {
    if (channel === "news") received.push(message);
  });
  let paused: number | undefined;
  try {
    await cluster.subscribe("news");
    await cluster.publish("news", "before");
    await waitFor(() => received.includes("before"), "the first message", 5_000);
    const [first] = clusterSubscriberConnections(cluster);
    expect(first?.mode).toBe("subscriber");

    // The rotation reconnects the subscriber (RESP2 cannot AUTH in subscriber mode); its node
    // freezes as soon as it is ready, so ioredis's resubscription stays unanswered.
    const node = nodeIndexOf(first!);
    first!.once("ready", () => {
      // Resumed well within the cluster's node timeout (2 s) even if the test fails meanwhile.
      fixture.server.pauseNode(node, 1_000);
      paused = node;
    });
    await manager.refresh();
    await waitFor(() => paused !== undefined, "the reconnected subscriber to be ready", 5_000);
    expect(first!.mode).toBe("normal");

    const port = (first as unknown as { stream: { localPort: number } }).stream.localPort;
    expect(fixture.server.killConnections({ clientPort: port })).toBe(1);
    await waitFor(() => first!.status === "end", "the killed subscriber to end", 2_000);
    fixture.server.resumeNode(node);
    paused = undefined;

    // The next subscriber connection is subscribed to "news" again: messages arrive.
    let sent = 0;
    await waitFor(
      async () => {
        await cluster.publish("news", `after#${++sent}`);
        await sleep(50);
        return received.some((message) => message.startsWith("after#"));
      },
      "a message published after the kill",
      10_000,
    );
    const [next] = clusterSubscriberConnections(cluster);
    expect(next).not.toBe(first);
    expect(next?.mode).toBe("subscriber");
  } finally {
    if (paused !== undefined) fixture.server.resumeNode(paused);
    cluster.disconnect();
  }
}, 40_000);

it("a cluster subscriber whose tokens expire during an identity outage receives messages again once the provider is back", async () => {
  // The subscriber's source fails for a while; the publisher's manager stays healthy throughout.
  const source = switchableSource(fixture);
  const manager = managerFor(source);
  const subscriber: Cluster = await createCluster(
    manager,
    seedNodes(fixture),
    clusterOptions(fixture),
  );
  const publisher = fixture.manager({ lifetimeMs: 60_000, refreshBeforeExpiryMs: 5_000 });
  const cluster: Cluster = await createCluster(
    publisher,
    seedNodes(fixture),
    clusterOptions(fixture),
  );
  const received: string[] = [];
  subscriber.on("message", (channel: string, message: string) => {
    if (channel === "outage-news") received.push(message);
  });
  try {
    await subscriber.subscribe("outage-news");
    await cluster.publish("outage-news", "before");
    await waitFor(() => received.includes("before"), "the first message", 5_000);
    const [first] = clusterSubscriberConnections(subscriber);

    // The token expires, the server closes the subscriber, and the connections ClusterSubscriber
    // makes in its place are refused or find no valid credentials, for a second more.
    source.mode = "fail";
    await waitFor(() => first!.status === "end", "the subscriber closed at expiry", 10_000);
    await sleep(1_000);
    source.mode = "ok";

    // ioredis rejected the SUBSCRIBE of a refused connection the adapter then retried: it must
    // not stay subscribed to nothing.
    let sent = 0;
    await waitFor(
      async () => {
        await cluster.publish("outage-news", `after#${++sent}`);
        await sleep(100);
        return received.some((message) => message.startsWith("after#"));
      },
      "a message published after the outage",
      15_000,
    );
  } finally {
    source.mode = "ok";
    subscriber.disconnect();
    cluster.disconnect();
    await manager.dispose();
  }
}, 60_000);
