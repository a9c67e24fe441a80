import { channel } from "node:diagnostics_channel";
import {
  type DiagLogger,
  DiagLogLevel,
  diag,
  type Meter,
  type MeterProvider,
  metrics,
} from "@opentelemetry/api";
import { DataPointType } from "@opentelemetry/sdk-metrics";
import {
  createTokenManager,
  diagnosticsChannels,
  type ReauthMessage,
  type RedisCredentials,
  staticCredentials,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import {
  createFakeClock,
  type FakeClock,
  type ScriptStep,
  scriptedSource,
} from "@redis-credentials/testing";
import { instrumentTokenManager, metricNames, type TokenManagerInstrumentation } from "../../src";
import { TestMetrics } from "../metrics-reader";

const SECOND = 1_000;
const USERNAME = "svc-orders-user";
const PASSWORD = "tok-pAsSwOrD-never-in-metrics";

/** Everything a test made, disposed after it. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function credentials(clock: FakeClock, lifetimeMs: number, password = PASSWORD): RedisCredentials {
  return { username: USERNAME, password, expiresAt: clock.now() + lifetimeMs };
}

function startMetrics(): TestMetrics {
  const testMetrics = new TestMetrics();
  cleanups.push(() => testMetrics.shutdown());
  return testMetrics;
}

/** A manager on a fake clock over a scripted source named `name`. */
function scriptedManager(
  clock: FakeClock,
  steps: ScriptStep[],
  name = "scripted-idp",
  options: TokenManagerOptions = {},
): TokenManager {
  const source = scriptedSource(steps, { clock, name });
  const manager = createTokenManager(source, { clock, refreshJitterMs: 0, ...options });
  cleanups.push(() => manager.dispose());
  return manager;
}

function instrument(manager: TokenManager, testMetrics: TestMetrics): TokenManagerInstrumentation {
  const handle = instrumentTokenManager(manager, { meterProvider: testMetrics.provider });
  cleanups.push(() => handle.dispose());
  return handle;
}

/** Moves the fake clock to the manager's next scheduled attempt (it runs). */
async function untilNextAttempt(clock: FakeClock, manager: TokenManager): Promise<void> {
  const at = manager.status().nextRefreshAt;
  if (at === undefined) throw new Error("no attempt is scheduled");
  await clock.advanceTo(at);
}

function publishReauth(message: ReauthMessage): void {
  channel(diagnosticsChannels.reauth).publish(message);
}

test("each fetch outcome is counted once with its outcome, reason and source, and timed in seconds", async () => {
  const clock = createFakeClock();
  const first = credentials(clock, 60 * SECOND);
  const manager = scriptedManager(clock, [
    first,
    { delayMs: 1_500, answer: new Error("identity provider down") },
    first, // the same token again: unchanged
    {
      delayMs: 500,
      answer: (call) => ({ ...first, password: "tok-2", expiresAt: call.at + 60 * SECOND }),
    },
  ]);
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);

  await manager.getCredentials(); // initial: success
  await untilNextAttempt(clock, manager); // scheduled: starts, fails 1.5 s later
  await clock.advance(1_500);
  await untilNextAttempt(clock, manager); // retry: the same credentials
  await untilNextAttempt(clock, manager); // retry: new ones, 0.5 s later
  await clock.advance(500);

  const source = "scripted-idp";
  expect(await testMetrics.numbers(metricNames.refreshes)).toEqual(
    expect.arrayContaining([
      { attributes: { outcome: "success", reason: "initial", source }, value: 1 },
      { attributes: { outcome: "failure", reason: "scheduled", source }, value: 1 },
      { attributes: { outcome: "unchanged", reason: "retry", source }, value: 1 },
      { attributes: { outcome: "success", reason: "retry", source }, value: 1 },
    ]),
  );
  expect(await testMetrics.total(metricNames.refreshes)).toBe(4);

  const durations = await testMetrics.histograms(metricNames.fetchDuration);
  const timed = durations.map(({ attributes, value }) => ({
    attributes,
    count: value.count,
    sum: value.sum,
  }));
  expect(timed).toHaveLength(4);
  expect(timed).toEqual(
    expect.arrayContaining([
      { attributes: { outcome: "success", reason: "initial", source }, count: 1, sum: 0 },
      { attributes: { outcome: "failure", reason: "scheduled", source }, count: 1, sum: 1.5 },
      { attributes: { outcome: "unchanged", reason: "retry", source }, count: 1, sum: 0 },
      { attributes: { outcome: "success", reason: "retry", source }, count: 1, sum: 0.5 },
    ]),
  );
  // Seconds, in buckets made for seconds: 1.5 s lands in (1, 2.5].
  const failed = durations.find((point) => point.attributes.outcome === "failure");
  const boundaries = failed?.value.buckets.boundaries ?? [];
  expect(boundaries).toContain(2.5);
  expect(failed?.value.buckets.counts[boundaries.indexOf(2.5)]).toBe(1);
});

test("the instruments have the documented names, kinds and units", async () => {
  const clock = createFakeClock();
  const manager = scriptedManager(
    clock,
    [credentials(clock, 2 * SECOND), new Error("down")],
    "idp",
    {
      minRefreshIntervalMs: 100,
      refreshBeforeExpiryMs: 0,
    },
  );
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  await manager.getCredentials();
  publishReauth({ manager: manager.id, source: "idp", client: 1, target: "t", outcome: "success" });
  await clock.advance(3 * SECOND); // a failed refresh, then the expiry

  const result = await testMetrics.collect();
  const scopes = result.resourceMetrics.scopeMetrics;
  expect(scopes.map((scope) => scope.scope.name)).toEqual(["@redis-credentials/opentelemetry"]);
  const described = Object.fromEntries(
    (scopes[0]?.metrics ?? []).map((metric) => [
      metric.descriptor.name,
      {
        kind: metric.dataPointType,
        monotonic: metric.dataPointType === DataPointType.SUM && metric.isMonotonic,
        unit: metric.descriptor.unit,
      },
    ]),
  );
  expect(described).toEqual({
    [metricNames.refreshes]: { kind: DataPointType.SUM, monotonic: true, unit: "{refresh}" },
    [metricNames.fetchDuration]: { kind: DataPointType.HISTOGRAM, monotonic: false, unit: "s" },
    [metricNames.remaining]: { kind: DataPointType.GAUGE, monotonic: false, unit: "s" },
    [metricNames.expired]: { kind: DataPointType.SUM, monotonic: true, unit: "{expiry}" },
    [metricNames.reauth]: { kind: DataPointType.SUM, monotonic: true, unit: "{reauth}" },
  });
});

test("the remaining life is observed in seconds, decreases with the clock, ignores wall-clock steps and is 0 once expired", async () => {
  const clock = createFakeClock();
  const manager = scriptedManager(clock, [
    credentials(clock, 60 * SECOND),
    new Error("identity provider down"),
  ]);
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  const source = "scripted-idp";

  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([]); // nothing held yet
  await manager.getCredentials();
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source }, value: 60 },
  ]);
  await clock.advance(10 * SECOND);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source }, value: 50 },
  ]);
  // An NTP step of the wall clock: the manager keeps counting on the monotonic clock, so does the gauge.
  clock.jumpWallClock(3_600 * SECOND);
  expect(manager.status().state).toBe("ready");
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source }, value: 50 },
  ]);
  await clock.advance(49_250);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source }, value: 0.75 },
  ]);
  expect(await testMetrics.total(metricNames.expired)).toBe(0);

  await clock.advance(750); // the refresh failed and its retries too: the token lapses
  expect(manager.status().state).toBe("expired");
  expect(await testMetrics.numbers(metricNames.expired)).toEqual([
    { attributes: { source }, value: 1 },
  ]);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source }, value: 0 },
  ]);
  expect(await testMetrics.total(metricNames.refreshes, { outcome: "failure" })).toBeGreaterThan(0);
});

test("the life is read when the token arrives: a wall-clock step before the first collection changes nothing", async () => {
  const clock = createFakeClock();
  const manager = scriptedManager(clock, [credentials(clock, 60 * SECOND)]);
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  await manager.getCredentials();
  clock.jumpWallClock(-3_600 * SECOND);
  await clock.advance(5 * SECOND);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source: "scripted-idp" }, value: 55 },
  ]);
});

test("a token extended by a fetch of the same credentials counts down from its new expiry", async () => {
  const clock = createFakeClock();
  const first = credentials(clock, 60 * SECOND);
  const manager = scriptedManager(clock, [
    first,
    () => ({
      username: first.username,
      password: first.password,
      expiresAt: first.expiresAt + 30 * SECOND,
    }),
  ]);
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  await manager.getCredentials();
  await untilNextAttempt(clock, manager); // at 30 s: the same token, valid 30 s longer
  expect(await testMetrics.total(metricNames.refreshes, { outcome: "unchanged" })).toBe(1);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source: "scripted-idp" }, value: 60 },
  ]);
});

test("credentials that never expire are counted but report no remaining life", async () => {
  const manager = createTokenManager(staticCredentials({ username: USERNAME, password: PASSWORD }));
  cleanups.push(() => manager.dispose());
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  await manager.getCredentials();
  expect(await testMetrics.numbers(metricNames.refreshes)).toEqual([
    { attributes: { outcome: "success", reason: "initial", source: "static" }, value: 1 },
  ]);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([]);
});

test("a manager instrumented after its first fetch reports the life left from then on", async () => {
  const clock = createFakeClock();
  const manager = scriptedManager(clock, [credentials(clock, 60 * SECOND)]);
  await manager.getCredentials();
  await clock.advance(20 * SECOND);
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source: "scripted-idp" }, value: 40 },
  ]);
  expect(await testMetrics.total(metricNames.refreshes)).toBe(0); // what came before is not replayed
});

test("re-AUTHs are counted by outcome and source, for this manager's connections only", async () => {
  const clock = createFakeClock();
  const manager = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "entra-id");
  const other = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "entra-id");
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  const reauth = { source: "entra-id", client: 7, target: "10.0.0.1:6380" } as const;
  publishReauth({ ...reauth, manager: manager.id, outcome: "success" });
  publishReauth({ ...reauth, manager: manager.id, outcome: "success" });
  publishReauth({
    ...reauth,
    manager: manager.id,
    outcome: "failure",
    error: { name: "ReplyError", message: "WRONGPASS invalid username-password pair" },
  });
  publishReauth({ ...reauth, manager: other.id, outcome: "failure" }); // another manager's

  expect(await testMetrics.numbers(metricNames.reauth)).toEqual(
    expect.arrayContaining([
      { attributes: { outcome: "success", source: "entra-id" }, value: 2 },
      { attributes: { outcome: "failure", source: "entra-id" }, value: 1 },
    ]),
  );
  expect(await testMetrics.total(metricNames.reauth)).toBe(3);
});

test("two managers on one meter provider: each handle counts its own manager only", async () => {
  const clock = createFakeClock();
  const a = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "idp-a");
  const b = scriptedManager(clock, [credentials(clock, 30 * SECOND), new Error("down")], "idp-b");
  const testMetrics = startMetrics();
  instrument(a, testMetrics);
  instrument(b, testMetrics);
  await a.getCredentials();
  await b.getCredentials();
  await untilNextAttempt(clock, b); // b's refresh fails; a has none due yet

  expect(await testMetrics.numbers(metricNames.refreshes)).toEqual(
    expect.arrayContaining([
      { attributes: { outcome: "success", reason: "initial", source: "idp-a" }, value: 1 },
      { attributes: { outcome: "success", reason: "initial", source: "idp-b" }, value: 1 },
      { attributes: { outcome: "failure", reason: "scheduled", source: "idp-b" }, value: 1 },
    ]),
  );
  expect(await testMetrics.total(metricNames.refreshes)).toBe(3);
  // b refreshed at 15 s, half its life: a has 45 s left, b 15 s.
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual(
    expect.arrayContaining([
      { attributes: { source: "idp-a" }, value: 45 },
      { attributes: { source: "idp-b" }, value: 15 },
    ]),
  );
});

test("two managers on two meter providers: neither provider sees the other's manager", async () => {
  const clock = createFakeClock();
  const a = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "idp-a");
  const b = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "idp-b");
  const metricsA = startMetrics();
  const metricsB = startMetrics();
  instrument(a, metricsA);
  instrument(b, metricsB);
  await a.getCredentials();
  await b.getCredentials();
  publishReauth({ manager: b.id, source: "idp-b", client: 1, target: "t", outcome: "success" });

  expect(await metricsA.numbers(metricNames.refreshes)).toEqual([
    { attributes: { outcome: "success", reason: "initial", source: "idp-a" }, value: 1 },
  ]);
  expect(await metricsA.numbers(metricNames.reauth)).toEqual([]);
  expect(await metricsA.gauge(metricNames.remaining)).toEqual([
    { attributes: { source: "idp-a" }, value: 60 },
  ]);
  expect(await metricsB.numbers(metricNames.refreshes)).toEqual([
    { attributes: { outcome: "success", reason: "initial", source: "idp-b" }, value: 1 },
  ]);
  expect(await metricsB.total(metricNames.reauth)).toBe(1);
});

test("two managers of the same source share their series: counts add up, the gauge shows the shorter life", async () => {
  const clock = createFakeClock();
  const a = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "shared");
  const b = scriptedManager(clock, [credentials(clock, 20 * SECOND)], "shared");
  const testMetrics = startMetrics();
  instrument(a, testMetrics);
  const handleB = instrument(b, testMetrics);
  await a.getCredentials();
  await b.getCredentials();
  expect(await testMetrics.total(metricNames.refreshes, { source: "shared" })).toBe(2);
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source: "shared" }, value: 20 },
  ]);
  handleB.dispose();
  expect(await testMetrics.gauge(metricNames.remaining)).toEqual([
    { attributes: { source: "shared" }, value: 60 },
  ]);
});

test("dispose() stops everything: no more points, every channel unsubscribed; it is idempotent", async () => {
  const channels = [
    diagnosticsChannels.refreshed,
    diagnosticsChannels.unchanged,
    diagnosticsChannels.refreshFailed,
    diagnosticsChannels.expired,
    diagnosticsChannels.reauth,
  ];
  const subscribed = () => channels.filter((name) => channel(name).hasSubscribers);
  expect(subscribed()).toEqual([]);

  const clock = createFakeClock();
  const manager = scriptedManager(
    clock,
    [credentials(clock, 10 * SECOND), new Error("down")],
    "scripted-idp",
    { minRefreshIntervalMs: 100 },
  );
  const testMetrics = startMetrics();
  const handle = instrumentTokenManager(manager, { meterProvider: testMetrics.provider });
  expect(subscribed()).toEqual(channels);
  await manager.getCredentials();
  expect(await testMetrics.deltaPointCount()).toBeGreaterThan(0);

  handle.dispose();
  handle.dispose();
  handle[Symbol.dispose]();
  expect(subscribed()).toEqual([]);
  const before = await testMetrics.total(metricNames.refreshes);

  // Refreshes fail, the token expires, a re-AUTH is published: none of it is recorded.
  await clock.advance(15 * SECOND);
  publishReauth({
    manager: manager.id,
    source: "scripted-idp",
    client: 1,
    target: "t",
    outcome: "failure",
  });
  expect(manager.status().state).toBe("expired");
  expect(await testMetrics.deltaPointCount()).toBe(0);
  expect(await testMetrics.total(metricNames.refreshes)).toBe(before);
});

test("the same manager twice on one meter provider is refused; after dispose(), or on another provider, it is allowed", async () => {
  const clock = createFakeClock();
  const manager = scriptedManager(clock, [credentials(clock, 60 * SECOND)]);
  const first = startMetrics();
  const second = startMetrics();
  const handle = instrument(manager, first);
  expect(() => instrumentTokenManager(manager, { meterProvider: first.provider })).toThrow(
    expect.objectContaining({ name: "InvalidOptionsError", option: "manager" }),
  );
  instrument(manager, second);
  handle.dispose();
  instrument(manager, first);
  await manager.getCredentials();
  expect(await first.total(metricNames.refreshes)).toBe(1); // once, not twice
  expect(await second.total(metricNames.refreshes)).toBe(1);
});

test("without a meterProvider, the global meter provider records", async () => {
  const testMetrics = startMetrics();
  expect(metrics.setGlobalMeterProvider(testMetrics.provider)).toBe(true);
  cleanups.push(() => metrics.disable());
  const clock = createFakeClock();
  const a = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "idp-a");
  const b = scriptedManager(clock, [credentials(clock, 60 * SECOND)], "idp-b");
  cleanups.push(instrumentTokenManager(a).dispose);
  cleanups.push(instrumentTokenManager(b, { meterProvider: undefined }).dispose);
  await a.getCredentials();
  await b.getCredentials();
  expect(await testMetrics.total(metricNames.refreshes, { source: "idp-a" })).toBe(1);
  expect(await testMetrics.total(metricNames.refreshes, { source: "idp-b" })).toBe(1);
});

test("no token, user name or error text reaches any attribute or value", async () => {
  const clock = createFakeClock();
  const errorText = `the provider said ${PASSWORD}`;
  const manager = scriptedManager(
    clock,
    [
      credentials(clock, 4 * SECOND),
      { delayMs: 2 * SECOND, answer: new Error(errorText) }, // fails after the token lapsed
      (call) => ({
        username: USERNAME,
        password: `${PASSWORD}-2`,
        expiresAt: call.at + 60 * SECOND,
      }),
    ],
    "scripted-idp",
    { minRefreshIntervalMs: 100, refreshBeforeExpiryMs: 1_000 },
  );
  const testMetrics = startMetrics();
  instrument(manager, testMetrics);
  await manager.getCredentials();
  await clock.advance(7 * SECOND); // a failure, an expiry, a recovery
  publishReauth({
    manager: manager.id,
    source: "scripted-idp",
    client: 1,
    target: "127.0.0.1:6380",
    outcome: "failure",
    error: { name: "ReplyError", message: errorText },
  });
  expect(await testMetrics.total(metricNames.refreshes)).toBe(3);
  expect(await testMetrics.total(metricNames.expired)).toBe(1);

  const everything = JSON.stringify([
    await testMetrics.collect(),
    await testMetrics.collectDelta(),
  ]);
  expect(everything).toContain(metricNames.reauth); // the scan sees the data
  expect(everything).not.toContain(PASSWORD);
  expect(everything).not.toContain(USERNAME);
  expect(everything).not.toContain("provider said");
  expect(everything).not.toContain("127.0.0.1");
});

test("an instrument that throws never breaks the manager: the error goes to OpenTelemetry's diag logger", async () => {
  const logged: unknown[][] = [];
  diag.setLogger(
    { ...silentLogger, error: (...args: unknown[]) => logged.push(args) },
    DiagLogLevel.ERROR,
  );
  cleanups.push(() => diag.disable());
  const testMetrics = startMetrics();
  const failing = () => {
    throw new Error("exporter bug");
  };
  const meterProvider: MeterProvider = {
    getMeter(name, version) {
      const meter = testMetrics.provider.getMeter(name, version);
      return Object.assign(Object.create(meter) as Meter, {
        createCounter: () => ({ add: failing }),
        createHistogram: () => ({ record: failing }),
      });
    },
  };
  const clock = createFakeClock();
  const manager = scriptedManager(clock, [credentials(clock, 60 * SECOND)]);
  cleanups.push(instrumentTokenManager(manager, { meterProvider }).dispose);

  await expect(manager.getCredentials()).resolves.toMatchObject({ username: USERNAME });
  await clock.flushPromises();
  expect(manager.status().state).toBe("ready");
  expect(logged).toHaveLength(1);
  expect(String(logged[0]?.[0])).toContain("redis-credentials:refreshed");
  expect(await testMetrics.gauge(metricNames.remaining)).toHaveLength(1); // the gauge still works
});

const silentLogger: DiagLogger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  verbose: () => {},
};
