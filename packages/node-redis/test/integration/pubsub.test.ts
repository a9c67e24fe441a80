/**
 * Pub/sub connections across rotations, on a standalone server: a channel (subscribe), a pattern
 * (pSubscribe) and a shard channel (sSubscribe), with a message published to each every ~2 ms.
 * RESP3 subscribers re-authenticate in place with AUTH and lose nothing. RESP2 subscribers cannot
 * (Redis refuses AUTH in RESP2 subscribe mode), so the adapter reconnects them before the token
 * expires and node-redis resubscribes: what is published during that gap is lost, and measured.
 */
import type { TokenManager } from "@redis-credentials/core";
import type { ConnectionStats } from "@redis-credentials/testing";
import type { RedisClientType } from "redis";
import * as redis from "redis";
import { createClient, credentialsProvider } from "../../src";
import {
  authsBetween,
  collectErrors,
  connectionsOf,
  countRotations,
  expectCleanServer,
  expectNoErrors,
  longestStallMs,
  report,
  snapshot,
  Users,
  untilAllHoldCurrentToken,
  waitFor,
} from "./cluster-helpers";
import { type Fixture, nodeRedisMajor, rotations, sleep, startFixture } from "./helpers";

type Client = RedisClientType<any, any, any, any, any>;

const ROTATIONS = 5;
const PUBLISH_EVERY_MS = 2;
/**
 * Messages of one kind a reconnect may lose: node-redis reconnects at once when a ready connection
 * closes (its reconnect strategy delays only the attempts after a failed one), so a reconnect
 * takes a few ms and loses a few messages; this leaves room for a loaded machine.
 */
const MAX_LOSS_PER_RECONNECT = 50;

type Kind = "channel" | "pattern" | "shard";
const KINDS: Kind[] = ["channel", "pattern", "shard"];

async function withServer(test: (fixture: Fixture, users: Users) => Promise<void>) {
  const fixture = await startFixture({ tls: false });
  const users = new Users(fixture.issuer);
  try {
    await test(fixture, users);
  } finally {
    await users.dispose();
    await fixture.stop();
  }
}

const socketOf = (fixture: Fixture) => ({ host: fixture.server.host, port: fixture.server.port });

interface Reconnect {
  /** node-redis' `reconnecting` event (the socket closed), then `ready` (resubscribed). */
  closedAt: number;
  readyAt: number;
  /** Messages of each kind that arrived after this reconnect, before the next one or the end. */
  arrivedAfter: Record<Kind, number>;
  /** From the last message (of any kind) before the close to the first after `ready`. */
  gapMs: number;
}

interface Measurement {
  /** Messages of each kind published (and acknowledged by Redis). */
  published: number;
  lost: Record<Kind, number>;
  duplicates: number;
  /** Reconnects during the ROTATIONS rotations counted. */
  reconnects: Reconnect[];
  /** Reconnects over the whole run. */
  allReconnects: number;
  rotations: number;
  /** The subscriber's server-side connections: at subscribe time, before and after the counted rotations. */
  subscribed: ConnectionStats[];
  before: ConnectionStats[];
  after: ConnectionStats[];
  errors: Error[];
  /** What `atEnd` returned, right after the counted rotations. */
  atEnd: unknown;
}

/**
 * Subscribes (a channel, a pattern, a shard channel), publishes one message to each every
 * PUBLISH_EVERY_MS from a client of another user, and counts what arrived across ROTATIONS
 * rotations (after a first one, so that the counted ones start from a quiet moment).
 */
async function measureSubscriber(
  fixture: Fixture,
  users: Users,
  makeSubscriber: (manager: TokenManager) => Client,
  atEnd: () => unknown = () => undefined,
): Promise<Measurement> {
  const { user, manager } = users.create();
  const subscriber = makeSubscriber(manager);
  const errors = collectErrors(subscriber);
  const publisherUser = users.create();
  const publisher = createClient(publisherUser.manager, {
    socket: socketOf(fixture),
    allowInsecureTransport: true,
  }) as Client;
  const publisherErrors = collectErrors(publisher);
  const closes: number[] = [];
  const readies: number[] = [];
  subscriber.on("reconnecting", () => closes.push(performance.now()));
  subscriber.on("ready", () => readies.push(performance.now()));
  const received: Record<Kind, Map<number, number>> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };
  let duplicates = 0;
  const listener = (kind: Kind) => (message: string) => {
    if (received[kind].has(Number(message))) duplicates++;
    received[kind].set(Number(message), performance.now());
  };
  const published: number[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const publishErrors: unknown[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.all([subscriber.connect(), publisher.connect()]);
    await subscriber.subscribe("news", listener("channel"));
    await subscriber.pSubscribe("alerts:*", listener("pattern"));
    await subscriber.sSubscribe("orders", listener("shard"));
    const subscribed = connectionsOf(fixture.server, user);
    let seq = 0;
    timer = setInterval(() => {
      const n = ++seq;
      const message = String(n);
      const publishing = Promise.all([
        publisher.publish("news", message),
        publisher.publish("alerts:eu", message),
        publisher.sPublish("orders", message),
      ]).then(
        () => published.push(n),
        (error) => publishErrors.push(error),
      );
      inFlight.add(publishing);
      publishing.finally(() => inFlight.delete(publishing));
    }, PUBLISH_EVERY_MS);

    // The subscriber's connection holds the current token and, when that took a reconnect, the
    // client has seen it through (the server accepts the handshake's AUTH before node-redis is
    // ready).
    const settled = async () => {
      const connections = await untilAllHoldCurrentToken(fixture.server, user, manager, 1);
      await waitFor(() => subscriber.isReady, "the subscriber to be ready");
      return connections;
    };
    await rotations(manager, 1);
    const before = await settled();
    const firstCounted = readies.length;
    const counted = countRotations(manager);
    await rotations(manager, ROTATIONS);
    const after = await settled();
    // Rotations between the two quiet moments (more than ROTATIONS if a wait outlasted one), and
    // the reconnects they caused.
    const rotated = counted.at.length;
    const lastCounted = readies.length;
    // Messages after the last rotation's AUTH or reconnect.
    await sleep(500);
    const atEndResult = atEnd();
    counted.stop();
    clearInterval(timer);
    await Promise.all(inFlight);
    // The last messages arrive (the lost ones never do).
    const arrived = () => KINDS.reduce((sum, kind) => sum + received[kind].size, 0);
    for (let last = -1; arrived() < 3 * published.length && arrived() !== last; ) {
      last = arrived();
      await sleep(100);
    }

    expectNoErrors(publishErrors);
    expectNoErrors(publisherErrors);
    const end = performance.now();
    const all = KINDS.flatMap((kind) => [...received[kind].values()]).sort((a, b) => a - b);
    // Every `ready` after the first is a reconnect: it closed at the first `reconnecting` since
    // the `ready` before it (a failed attempt would add more).
    const reconnects = readies.slice(firstCounted, lastCounted).map((readyAt, i) => {
      const previousReady = readies[firstCounted + i - 1]!;
      const closedAt = closes.find((at) => at > previousReady && at <= readyAt) ?? readyAt;
      const nextClose = closes.find((at) => at > readyAt) ?? end;
      const count = (kind: Kind) =>
        [...received[kind].values()].filter((at) => at >= readyAt && at < nextClose).length;
      const lastBefore = all.filter((at) => at <= closedAt).at(-1) ?? closedAt;
      const firstAfter = all.find((at) => at >= readyAt) ?? readyAt;
      return {
        closedAt,
        readyAt,
        arrivedAfter: {
          channel: count("channel"),
          pattern: count("pattern"),
          shard: count("shard"),
        },
        gapMs: firstAfter - lastBefore,
      };
    });
    const lost = (kind: Kind) => published.filter((n) => !received[kind].has(n)).length;
    return {
      published: published.length,
      lost: { channel: lost("channel"), pattern: lost("pattern"), shard: lost("shard") },
      duplicates,
      reconnects,
      allReconnects: readies.length - 1,
      rotations: rotated,
      subscribed,
      before,
      after,
      errors,
      atEnd: atEndResult,
    };
  } finally {
    clearInterval(timer);
    await Promise.allSettled(inFlight);
    if (subscriber.isOpen) subscriber.destroy();
    if (publisher.isOpen) publisher.destroy();
  }
}

function reportLoss(label: string, m: Measurement) {
  const gaps = m.reconnects.map((r) => Math.round(r.gapMs));
  report(`node-redis ${nodeRedisMajor} ${label}`, {
    eventLoopStallMaxMs: longestStallMs(),
    publishedPerKind: m.published,
    publishEveryMs: PUBLISH_EVERY_MS,
    lost: m.lost,
    // Over the whole run (the counted rotations and the one before them).
    reconnects: m.allReconnects,
    lostPerReconnect: m.allReconnects === 0 ? 0 : +(m.lost.channel / m.allReconnects).toFixed(1),
    // For the counted rotations: from `reconnecting` to `ready`, and the silence it caused.
    reconnectMs: m.reconnects.map((r) => Math.round(r.readyAt - r.closedAt)),
    gapMs: gaps,
    meanGapMs: gaps.length === 0 ? 0 : Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length),
  });
}

/**
 * RESP2: one reconnect per rotation, each before the token expired (no close at expiry, no
 * expired token presented), each followed by messages of every kind (resubscribed), no AUTH sent
 * in subscribe mode, nothing reported to the user.
 */
function expectReconnectedAndResubscribed(
  fixture: Fixture,
  m: Measurement,
  maxLossPerReconnect: number,
) {
  expect(m.rotations).toBeGreaterThanOrEqual(ROTATIONS);
  expect(m.reconnects).toHaveLength(m.rotations);
  for (const { arrivedAfter } of m.reconnects) {
    for (const kind of KINDS) expect(arrivedAfter[kind]).toBeGreaterThan(0);
  }
  // One connection at a time: a new one per rotation, authenticated by its handshake only.
  expect(m.before).toHaveLength(1);
  expect(m.after).toHaveLength(1);
  expect(m.after[0]!.id).not.toBe(m.before[0]!.id);
  expect(m.after[0]!.authSuccesses).toBe(1);
  expect(m.after[0]!.expiresAt).toBeGreaterThan(Date.now());
  expect(m.duplicates).toBe(0);
  expect(m.published).toBeGreaterThan(1_000);
  for (const kind of KINDS) {
    expect(m.lost[kind]).toBeLessThanOrEqual(maxLossPerReconnect * m.allReconnects);
  }
  // The QUITs that made node-redis reconnect never reach the user as errors.
  expectNoErrors(m.errors);
  expectCleanServer(fixture.server);
}

test.concurrent(`a RESP3 subscriber re-authenticates in place at each of ${ROTATIONS} rotations and loses no message`, async () => {
  await withServer(async (fixture, users) => {
    const m = await measureSubscriber(fixture, users, (manager) =>
      createClient(manager, { socket: socketOf(fixture), RESP: 3, allowInsecureTransport: true }),
    );
    reportLoss("RESP3 subscriber", m);

    expect(m.rotations).toBeGreaterThanOrEqual(ROTATIONS);
    expect(m.published).toBeGreaterThan(1_000);
    expect(m.lost).toEqual({ channel: 0, pattern: 0, shard: 0 });
    expect(m.duplicates).toBe(0);
    // The connection it subscribed on, throughout: no reconnect, the same server-side connection,
    // and exactly one AUTH per rotation on it.
    expect(m.allReconnects).toBe(0);
    expect(m.subscribed).toHaveLength(1);
    expect(m.after.map((c) => c.id)).toEqual([m.subscribed[0]!.id]);
    expect(authsBetween(snapshot(m.before), m.after)).toEqual([
      expect.objectContaining({ survived: true, attempts: m.rotations, successes: m.rotations }),
    ]);
    expectNoErrors(m.errors);
    expectCleanServer(fixture.server);
  });
});

test.concurrent(`a RESP2 subscriber is reconnected before each of ${ROTATIONS} expiries and resubscribed to its channel, pattern and shard channel`, async () => {
  await withServer(async (fixture, users) => {
    const m = await measureSubscriber(fixture, users, (manager) =>
      createClient(manager, { socket: socketOf(fixture), RESP: 2, allowInsecureTransport: true }),
    );
    reportLoss("RESP2 subscriber (createClient)", m);
    expectReconnectedAndResubscribed(fixture, m, MAX_LOSS_PER_RECONNECT);
  });
});

test.concurrent(`a bare credentialsProvider on node-redis's own createClient keeps a RESP2 subscriber receiving across ${ROTATIONS} rotations: node-redis reconnects it`, async () => {
  await withServer(async (fixture, users) => {
    let provider: ReturnType<typeof credentialsProvider> | undefined;
    let subscriberManager: TokenManager | undefined;
    const providerErrors: Error[] = [];
    const m = await measureSubscriber(
      fixture,
      users,
      (manager) => {
        subscriberManager = manager;
        provider = credentialsProvider(manager, {
          allowInsecureTransport: true,
          onReAuthenticationError: (error) => providerErrors.push(error),
        });
        return redis.createClient({
          socket: socketOf(fixture),
          RESP: 2,
          credentialsProvider: provider,
        }) as Client;
      },
      () => ({
        provider: provider!.status(),
        subscribers: subscriberManager!.status().counters.subscribers,
      }),
    );
    reportLoss("RESP2 subscriber (bare provider)", m);
    // Without the factory's reconnect strategy, node-redis' own reconnects the subscriber after
    // the adapter's QUIT, at once as well: it loses no more than with createClient.
    expectReconnectedAndResubscribed(fixture, m, MAX_LOSS_PER_RECONNECT);
    expectNoErrors(providerErrors);
    // One connection kept authenticated throughout, identified, with one manager subscription
    // across its reconnects; released when the client was destroyed.
    expect(m.atEnd).toEqual({
      provider: expect.objectContaining({ connections: 1, unidentified: 0, reauthFailures: 0 }),
      subscribers: 1,
    });
    await waitFor(() => provider!.status().connections === 0, "the destroyed client's release");
  });
});
