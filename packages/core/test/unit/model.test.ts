/**
 * Model-based property test of `createTokenManager` on the fake clock.
 *
 * fast-check draws a sequence of commands (move the clock, call getCredentials / refresh /
 * peekCredentials, subscribe and unsubscribe listeners that misbehave, add throwing event
 * handlers, dispose, and change what the credential source answers next) and runs it against a
 * real manager. A model (`World`) follows what docs/core.md says must happen and checks, after
 * every command, the promises the docs make:
 *
 *   [1]  at most one source.fetch in flight at a time
 *   [2]  no expired credentials handed out (getCredentials, peekCredentials); peek serves the
 *        credentials held while they are valid and nothing once they expired
 *   [3]  every caller settles: pending calls settle on dispose, and while not disposed after two
 *        hours of a healthy source; an aborted signal settles its call at once
 *   [4]  no self-started fetch after a permanent error (nor after a failed first fetch, nor
 *        before the first call): only getCredentials()/refresh() start one
 *   [5]  backoff within its bounds: a self-started attempt after a failed (or unchanged)
 *        attempt comes [initialDelayMs, maxDelayMs] after it ended, and it does come
 *   [6]  the scheduled refresh lands inside its window ([earliest, target] of the docs' formula,
 *        as the `refreshed` event's `refreshWindow` says), and it does come
 *   [7]  subscribers: each new credential at most once, never after unsubscribe or dispose,
 *        never the first credentials, never superseded ones, within the spread
 *   [7c] a subscriber is never called with credentials that have already expired
 *   [8]  nothing escapes: no unhandled rejection, no timer callback that throws
 *   [9]  dispose: no timer left, no fetch, no callback afterwards; calls reject with
 *        ManagerDisposedError, peek/subscribe/on throw it
 *   [10] credentials that never expire (expiresAt Infinity) are never refreshed on the
 *        manager's own initiative once a fetch brought them
 *   [11] events: refreshed for new credentials only, refreshFailed for each failed attempt,
 *        expired once when held credentials lapse, recovered after it; status().state
 *   [12] callers get the documented errors and fetch reasons
 *
 * Not asserted: status().lastError (its semantics are being settled), refreshAt hints (the
 * source sends none). Where the docs allow two readings (a failed refresh() while holding
 * never-expiring credentials: "no timer at all" vs "the retry loop takes over"), both pass.
 * Scheduled delays may be rounded up to a whole millisecond, so a refresh may land < 1 ms after
 * the window's end.
 *
 * Deterministic for a seed: MODEL_SEED=<n> (default below) picks fast-check's seed; the
 * manager's Math.random is replaced by a PRNG seeded from the run. MODEL_RUNS overrides the
 * number of runs. On failure the message starts with the line that replays the shrunk
 * counterexample directly (MODEL_SEED, MODEL_PATH, MODEL_REPLAY_PATH). MODEL_STATS=1 prints
 * how often each situation came up, to tune the arbitraries.
 */
import vm from "node:vm";
import fc from "fast-check";
import {
  type Clock,
  CredentialsExpiredError,
  CredentialsFetchError,
  createTokenManager,
  type FetchContext,
  type FetchReason,
  InvalidOptionsError,
  ManagerDisposedError,
  markPermanent,
  type RedisCredentials,
  type TokenManager,
  type TokenManagerEvent,
} from "../../src";
import { FakeClock, flushPromises } from "../fake-clock";

// --- configuration ------------------------------------------------------------------------

const DEFAULT_SEED = 20_260_101;
const SEED = readIntegerEnv("MODEL_SEED") ?? DEFAULT_SEED;
const NUM_RUNS = readIntegerEnv("MODEL_RUNS") ?? 600;
const MAX_COMMANDS = 40;
const REPLAY_PATH = process.env.MODEL_PATH;
/** fc.commands' own replay path (`replayPath` in the counterexample), needed with MODEL_PATH. */
const REPLAY_COMMANDS = process.env.MODEL_REPLAY_PATH;
/** MODEL_STATS=1 prints how often each situation came up (to tune the arbitraries). */
const STATS = process.env.MODEL_STATS !== undefined && process.env.MODEL_STATS !== "";
const stats = new Map<string, number>();
function count(what: string): void {
  if (STATS) stats.set(what, (stats.get(what) ?? 0) + 1);
}

const RATIO = 0.75; // the default refreshRatio
const OPTIONS = {
  refreshBeforeExpiryMs: 1_000,
  minRefreshIntervalMs: 500,
  refreshJitterMs: 500,
  fetchTimeoutMs: 1_000,
  reauthSpreadMs: 4_000,
  retry: { initialDelayMs: 100, maxDelayMs: 2_000, multiplier: 2 },
} as const;
const { initialDelayMs: BACKOFF_MIN, maxDelayMs: BACKOFF_MAX } = OPTIONS.retry;

const HOUR = 3_600_000;
/** Slack for float arithmetic on monotonic times (from 0: fine-grained). */
const EPS = 1e-6;
/** ...and on wall-clock epoch-ms times, whose floats round at 2^-12 ms. */
const WALL_EPS = 1e-3;
/** Scheduled delays are rounded up to whole milliseconds: a refresh may land < 1 ms after the target. */
const WHOLE_MS = 1;
/** Within this of an expiry, "valid" vs "expired" depends on float rounding: not judged. */
const AMBIGUOUS_MS = 0.01;

function readIntegerEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${raw}`);
  return value;
}

// --- what the commands can make things do ---------------------------------------------------

const thrownTags = [
  "error",
  "null-proto",
  "symbol",
  "undefined",
  "code-500",
  "throwing-toString",
  "revoked-proxy",
  "string",
  "null",
] as const;
type ThrownTag = (typeof thrownTags)[number];

/** A fresh value of the given kind to throw or reject with. */
function makeThrown(tag: ThrownTag): unknown {
  switch (tag) {
    case "error":
      return new Error("identity provider unavailable");
    case "null-proto":
      return Object.create(null);
    case "symbol":
      return Symbol("boom");
    case "undefined":
      return undefined;
    case "code-500":
      return { code: 500 };
    case "throwing-toString":
      return {
        toString() {
          throw new Error("toString refused");
        },
      };
    case "revoked-proxy": {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    }
    case "string":
      return "plain string failure";
    case "null":
      return null;
  }
}

/** Describes anything without running its code (thrown values here may trap). */
function describeValue(value: unknown): string {
  let isError = false;
  try {
    isError = value instanceof Error;
  } catch {
    return "a revoked proxy";
  }
  if (isError) {
    const error = value as Error;
    const frames = (error.stack ?? "")
      .split("\n")
      .slice(1)
      .filter((line) => line.includes("/src/"))
      .slice(0, 3)
      .map((line) => line.trim())
      .join(" < ");
    return `${error.name}: ${error.message}${frames ? ` (${frames})` : ""}`;
  }
  if (typeof value === "symbol") return value.toString();
  if (value === null) return "null";
  if (typeof value === "object") {
    try {
      return Object.getPrototypeOf(value) === null
        ? "a null-prototype object"
        : `an object {${Object.keys(value as object).join(",")}}`;
    } catch {
      return "a revoked proxy";
    }
  }
  return `${typeof value} ${String(value)}`;
}

type Timing = { kind: "sync" } | { kind: "async" } | { kind: "delay"; ms: number };
type Garbage = "null" | "empty-object" | "number" | "past" | "empty-password" | "nan-expiry";
type SourceMode =
  | { kind: "new"; lifetimeMs: number; timing: Timing }
  | { kind: "same"; shiftMs: number; timing: Timing }
  | { kind: "fail"; thrown: ThrownTag; timing: Timing }
  | { kind: "permanent"; timing: Timing }
  | { kind: "hang" }
  | { kind: "garbage"; what: Garbage; timing: Timing };

function timingText(timing: Timing): string {
  return timing.kind === "delay" ? `after ${timing.ms}ms` : timing.kind;
}

function modeText(mode: SourceMode): string {
  switch (mode.kind) {
    case "new":
      return `new(${mode.lifetimeMs === Number.POSITIVE_INFINITY ? "Infinity" : `${mode.lifetimeMs}ms`}, ${timingText(mode.timing)})`;
    case "same":
      return `same(expiresAt${mode.shiftMs >= 0 ? "+" : ""}${mode.shiftMs}ms, ${timingText(mode.timing)})`;
    case "fail":
      return `fail(${mode.thrown}, ${timingText(mode.timing)})`;
    case "permanent":
      return `permanent(${timingText(mode.timing)})`;
    case "hang":
      return "hang";
    case "garbage":
      return `garbage(${mode.what}, ${timingText(mode.timing)})`;
  }
}

type ListenerBehaviour = "return" | "resolve" | "throw" | "reject";

const eventNames: readonly TokenManagerEvent[] = [
  "refreshed",
  "refreshFailed",
  "expired",
  "recovered",
  "subscriberError",
];

// --- the docs' formulas -----------------------------------------------------------------------

/** The refresh window after receipt for a lifetime L, as docs/core.md writes it. */
function docsRefreshWindow(L: number): { earliestMs: number; latestMs: number } {
  const proportional = RATIO * L;
  const floor = Math.min(OPTIONS.minRefreshIntervalMs, proportional);
  const target = Math.max(
    floor,
    Math.min(proportional, Math.max(L - OPTIONS.refreshBeforeExpiryMs, L / 2)),
  );
  const earliest = Math.max(floor, target - Math.min(OPTIONS.refreshJitterMs, L / 10));
  return {
    earliestMs: Math.max(earliest, BACKOFF_MIN),
    latestMs: Math.max(target, BACKOFF_MIN),
  };
}

/** What the manager must accept from a source (docs: Errors), or undefined. */
function acceptable(
  value: unknown,
  now: number,
): { username: string; password: string; expiresAt: number } | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { username, password, expiresAt, refreshAt } = value as Record<string, unknown>;
  if (typeof username !== "string" || username.length === 0) return undefined;
  if (typeof password !== "string" || password.length === 0) return undefined;
  if (typeof expiresAt !== "number" || Number.isNaN(expiresAt) || !(expiresAt > now)) {
    return undefined;
  }
  if (refreshAt !== undefined && !(typeof refreshAt === "number" && Number.isFinite(refreshAt))) {
    return undefined;
  }
  return { username, password, expiresAt };
}

// --- the model --------------------------------------------------------------------------------

/** What the manager should do on its own next (after the last attempt ended). */
type Expectation =
  | { kind: "none"; invariant: string; why: string }
  | { kind: "inflight" }
  /** A retry [BACKOFF_MIN, BACKOFF_MAX] after `from`; `optional`: it may also not come. */
  | { kind: "backoff"; from: number; optional: boolean }
  | { kind: "window"; earliest: number; latest: number };
// (Times in expectations are monotonic: the wall clock's epoch-ms floats round at 2^-12 ms.)

interface Held {
  username: string;
  password: string;
  expiresAt: number;
  /** When they expire on the monotonic clock (what the manager counts on). */
  deadline: number;
  gen: number;
}

interface Attempt {
  readonly n: number;
  readonly reason: FetchReason;
  readonly callerStarted: boolean;
  ended: boolean;
}

interface Call {
  readonly id: number;
  readonly kind: "get" | "refresh";
  readonly at: number;
  readonly madeWhileDisposed: boolean;
  settled: boolean;
  /** How it must end, once something decided it (abort, dispose, bad argument). */
  mustReject?: { why: "abort"; reason: object } | { why: "disposed" } | { why: "invalid" };
  controller?: AbortController;
}

interface Subscription {
  readonly id: number;
  readonly behaviour: ListenerBehaviour;
  readonly thrown: ThrownTag;
  readonly unsubscribe: () => void;
  active: boolean;
  lastGen: number;
  readonly received: Set<number>;
  /** The delivery owed: credentials `gen` by monotonic time `deadline`. */
  owed?: { gen: number; deadline: number } | undefined;
}

let current: World | undefined;

class World {
  readonly fake = new FakeClock();
  readonly start = this.fake.now();
  readonly monoStart: number;
  readonly manager: TokenManager;
  readonly managerTimers = new Set<unknown>();
  readonly random: () => number;

  /** What the source answers from now on... */
  mode: SourceMode;
  /** ...except that these answer the next fetches first, one each. */
  readonly once: SourceMode[] = [];
  disposed = false;
  callerDepth = 0;
  callerKind: "get" | "refresh" | undefined;

  held: Held | undefined;
  firstGen: number | undefined;
  gen = 0;
  readonly genOf = new Map<string, number>();
  /** Monotonic deadline of every credential the source handed out, by password@expiresAt. */
  readonly deadlines = new Map<string, number>();
  passwordCounter = 0;
  nextCallId = 1;
  nextSubscriptionId = 1;

  fetches = 0;
  active: Attempt | undefined;
  expect: Expectation = {
    kind: "none",
    invariant: "4",
    why: "no caller has asked for credentials yet",
  };

  pendingRefreshed:
    | { gen: number; reason: FetchReason; earliest?: number; latest?: number }
    | undefined;
  pendingFailures = 0;
  pendingRecovered = false;
  /** Set by the `expired` event: monotonic time of the expiry. */
  episode: { at: number } | undefined;

  readonly calls: Call[] = [];
  readonly subscriptions: Subscription[] = [];
  readonly unhandled: unknown[] = [];
  readonly violations: { text: string; at: string; count: number }[] = [];
  readonly trace: string[] = [];
  sameInstant = { at: Number.NaN, count: 0 };

  constructor(rngSeed: number, mode: SourceMode) {
    this.mode = mode;
    this.monoStart = this.mono();
    this.random = mulberry32(rngSeed);
    const fake = this.fake;
    const fakeWithMonotonic = fake as FakeClock & { monotonicNow?: () => number };
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (callback, ms) => {
        if (this.disposed) this.violation("9", `the manager set a ${ms}ms timer after dispose()`);
        this.guardTightLoop();
        const handle: unknown = fake.setTimeout(() => {
          this.managerTimers.delete(handle);
          callback();
        }, ms);
        this.managerTimers.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        this.managerTimers.delete(handle);
        fake.clearTimeout(handle);
      },
    };
    if (typeof fakeWithMonotonic.monotonicNow === "function") {
      (clock as Clock & { monotonicNow: () => number }).monotonicNow = () =>
        fakeWithMonotonic.monotonicNow?.() ?? fake.now();
    }
    this.manager = createTokenManager(
      {
        name: "model-source",
        fetch: (context) => this.onFetch(context) as Promise<RedisCredentials>,
      },
      { ...OPTIONS, retry: { ...OPTIONS.retry }, clock },
    );
    // Recorders first, so that throwing handlers added later cannot hide an event from them.
    this.manager.on("refreshed", (event) => this.onRefreshed(event));
    this.manager.on("refreshFailed", (error) => this.onRefreshFailed(error));
    this.manager.on("expired", (event) => this.onExpired(event));
    this.manager.on("recovered", (event) => this.onRecovered(event));
    this.manager.on("subscriberError", () => {
      if (this.disposed) this.violation("9", "subscriberError emitted after dispose()");
    });
  }

  // --- time -----------------------------------------------------------------------------

  now(): number {
    return this.fake.now();
  }

  mono(): number {
    const fake = this.fake as FakeClock & { monotonicNow?: () => number };
    return typeof fake.monotonicNow === "function" ? fake.monotonicNow() : fake.now();
  }

  /** A wall-clock time as an offset from the start of the run. */
  t(at = this.now()): string {
    return `t+${Math.round((at - this.start) * 1000) / 1000}ms`;
  }

  /** A monotonic time likewise (the two move together: the wall clock never jumps here). */
  tMono(at: number): string {
    return this.t(at - this.monoStart + this.start);
  }

  /** Handed out past expiry, on both the wall clock (the docs) and the monotonic one. */
  isExpired(credentials: { password: string; expiresAt: number }): boolean {
    if (!(this.now() >= credentials.expiresAt)) return false;
    const deadline = this.deadlines.get(`${credentials.password}@${credentials.expiresAt}`);
    return deadline === undefined || this.mono() >= deadline;
  }

  guardTightLoop(): void {
    const at = this.mono();
    if (at === this.sameInstant.at) this.sameInstant.count++;
    else this.sameInstant = { at, count: 1 };
    if (this.sameInstant.count === 5_000) {
      this.violation("5", `5000 timers set at the same instant ${this.t()}: a tight loop`);
      throw new Error("tight timer loop");
    }
  }

  // --- bookkeeping ------------------------------------------------------------------------

  violation(invariant: string, message: string): void {
    const text = `[${invariant}] ${message}`;
    const seen = this.violations.find((v) => v.text === text);
    if (seen !== undefined) seen.count++;
    else if (this.violations.length < 20) this.violations.push({ text, at: this.t(), count: 1 });
  }

  log(message: string): void {
    this.trace.push(`${this.t()} ${message}`);
    if (this.trace.length > 40) this.trace.shift();
  }

  // --- the source -------------------------------------------------------------------------

  onFetch(context: FetchContext): unknown {
    const callerStarted = this.callerDepth > 0;
    const n = ++this.fetches;
    const mode = this.once.shift() ?? this.mode;
    count(callerStarted ? "fetch: caller-started" : `fetch: self-started ${context.reason}`);
    const what = `fetch #${n} (${context.reason}, ${callerStarted ? `started by ${this.callerKind}()` : "self-started"})`;
    this.log(`${what} [source: ${modeText(mode)}]`);
    if (this.disposed) this.violation("9", `${what} after dispose()`);
    if (this.active !== undefined) {
      this.violation("1", `${what} while fetch #${this.active.n} is still in flight`);
    }
    if (callerStarted) {
      const expected =
        this.held === undefined ? "initial" : this.callerKind === "refresh" ? "forced" : "retry";
      if (context.reason !== expected) {
        this.violation("12", `${what}: reason should be "${expected}"`);
      }
    } else {
      this.checkSelfStarted(this.mono(), what, context.reason);
    }
    const attempt: Attempt = { n, reason: context.reason, callerStarted, ended: false };
    this.active = attempt;
    this.expect = { kind: "inflight" };
    context.signal.addEventListener("abort", () => this.endAttempt(attempt, { kind: "aborted" }), {
      once: true,
    });
    return this.answer(attempt, context, mode);
  }

  checkSelfStarted(mono: number, what: string, reason: FetchReason): void {
    const expect = this.expect;
    switch (expect.kind) {
      case "none":
        this.violation(expect.invariant, `${what}, but ${expect.why}`);
        return;
      case "inflight":
        return; // reported by [1]
      case "backoff": {
        const gap = mono - expect.from;
        if (gap < BACKOFF_MIN - EPS || gap > BACKOFF_MAX + EPS) {
          this.violation(
            "5",
            `${what} ${gap}ms after the failed or unchanged attempt ended (${this.tMono(expect.from)}), outside [${BACKOFF_MIN}, ${BACKOFF_MAX}]`,
          );
        }
        if (reason !== "retry") this.violation("12", `${what}: a retry should have reason "retry"`);
        return;
      }
      case "window":
        if (mono < expect.earliest - EPS || mono > expect.latest + WHOLE_MS + EPS) {
          this.violation(
            "6",
            `${what} outside its refresh window [${this.tMono(expect.earliest)}, ${this.tMono(expect.latest)}]`,
          );
        }
        if (reason !== "scheduled") {
          this.violation("12", `${what}: a scheduled refresh should have reason "scheduled"`);
        }
        return;
    }
  }

  answer(attempt: Attempt, context: FetchContext, mode: SourceMode): unknown {
    const { signal } = context;
    if (mode.kind === "hang") {
      return new Promise((_resolve, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    const { timing } = mode;
    if (timing.kind !== "delay") {
      const result = this.produce(mode);
      this.endAttempt(attempt, result);
      if (timing.kind === "sync") {
        if (result.kind === "returned") return result.value;
        throw result.value;
      }
      return result.kind === "returned"
        ? Promise.resolve(result.value)
        : Promise.reject(result.value);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.fake.clearTimeout(handle);
        reject(signal.reason);
      };
      const handle = this.fake.setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        const result = this.produce(mode);
        this.endAttempt(attempt, result);
        if (result.kind === "returned") resolve(result.value);
        else reject(result.value);
      }, timing.ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  produce(
    mode: Exclude<SourceMode, { kind: "hang" }>,
  ): { kind: "returned"; value: unknown } | { kind: "threw"; value: unknown; permanent: boolean } {
    const now = Math.floor(this.now());
    const fresh = (lifetimeMs: number) => ({
      username: "app",
      password: `pw-${++this.passwordCounter}`,
      expiresAt: lifetimeMs === Number.POSITIVE_INFINITY ? lifetimeMs : now + lifetimeMs,
    });
    switch (mode.kind) {
      case "new":
        return { kind: "returned", value: fresh(mode.lifetimeMs) };
      case "same": {
        const held = this.held;
        if (held === undefined) return { kind: "returned", value: fresh(60_000) };
        return {
          kind: "returned",
          value: {
            username: held.username,
            password: held.password,
            expiresAt: held.expiresAt + mode.shiftMs, // Infinity stays Infinity
          },
        };
      }
      case "fail":
        return { kind: "threw", value: makeThrown(mode.thrown), permanent: false };
      case "permanent":
        return {
          kind: "threw",
          value: markPermanent(new Error("client secret rejected")),
          permanent: true,
        };
      case "garbage":
        switch (mode.what) {
          case "null":
            return { kind: "returned", value: null };
          case "empty-object":
            return { kind: "returned", value: {} };
          case "number":
            return { kind: "returned", value: 42 };
          case "past":
            return { kind: "returned", value: { ...fresh(60_000), expiresAt: now - 1_000 } };
          case "empty-password":
            return { kind: "returned", value: { ...fresh(60_000), password: "" } };
          case "nan-expiry":
            return { kind: "returned", value: { ...fresh(60_000), expiresAt: Number.NaN } };
        }
    }
  }

  endAttempt(
    attempt: Attempt,
    outcome:
      | { kind: "aborted" }
      | { kind: "returned"; value: unknown }
      | { kind: "threw"; value: unknown; permanent: boolean },
  ): void {
    if (attempt.ended) return;
    attempt.ended = true;
    if (this.active === attempt) this.active = undefined;
    const now = this.now();
    if (this.disposed) {
      this.log(`fetch #${attempt.n} ended by dispose()`);
      this.expect = { kind: "none", invariant: "9", why: "the manager was disposed" };
      return;
    }
    if (outcome.kind === "returned") {
      const credentials = acceptable(outcome.value, now);
      if (credentials !== undefined) {
        this.onSuccess(attempt, credentials, now);
        return;
      }
      this.log(`fetch #${attempt.n} returned unusable credentials`);
      this.onFailure(false);
      return;
    }
    this.log(
      outcome.kind === "aborted"
        ? `fetch #${attempt.n} timed out (aborted)`
        : `fetch #${attempt.n} failed${outcome.permanent ? " permanently" : ""}`,
    );
    if (outcome.kind === "aborted") count("attempt: timed out");
    this.onFailure(outcome.kind === "threw" && outcome.permanent);
  }

  onFailure(permanent: boolean): void {
    count(permanent ? "attempt: permanent failure" : "attempt: retryable failure");
    this.pendingFailures++;
    const held = this.held;
    if (permanent) {
      this.expect = {
        kind: "none",
        invariant: "4",
        why: "the last attempt failed with a permanent error and no caller asked since",
      };
    } else if (held === undefined) {
      this.expect = {
        kind: "none",
        invariant: "4",
        why: "after a failed first fetch the manager schedules nothing (docs: Retries)",
      };
    } else {
      // Credentials that never expire: the docs say both "no timer at all" and "the retry loop
      // takes over" after a failed refresh(); either is accepted, within the backoff bounds.
      this.expect = {
        kind: "backoff",
        from: this.mono(),
        optional: held.expiresAt === Number.POSITIVE_INFINITY,
      };
    }
  }

  onSuccess(
    attempt: Attempt,
    credentials: { username: string; password: string; expiresAt: number },
    now: number,
  ): void {
    const mono = this.mono();
    const deadline = mono + (credentials.expiresAt - now);
    this.deadlines.set(`${credentials.password}@${credentials.expiresAt}`, deadline);
    const previous = this.held;
    const lifetime = credentials.expiresAt - now;
    const scheduleFrom = (L: number): Expectation => {
      if (L === Number.POSITIVE_INFINITY) {
        return {
          kind: "none",
          invariant: "10",
          why: "the credentials held never expire (docs: never refreshed, no timer at all)",
        };
      }
      const window = docsRefreshWindow(L);
      return { kind: "window", earliest: mono + window.earliestMs, latest: mono + window.latestMs };
    };
    if (
      previous === undefined ||
      previous.username !== credentials.username ||
      previous.password !== credentials.password
    ) {
      const gen = ++this.gen;
      count(previous === undefined ? "attempt: first credentials" : "attempt: new credentials");
      if (credentials.expiresAt === Number.POSITIVE_INFINITY)
        count("attempt: never-expiring credentials");
      this.genOf.set(credentials.password, gen);
      this.firstGen ??= gen;
      this.held = { ...credentials, deadline, gen };
      this.log(`fetch #${attempt.n} brought new credentials gen ${gen} (lifetime ${lifetime}ms)`);
      this.expect = scheduleFrom(lifetime);
      this.pendingRefreshed = {
        gen,
        reason: attempt.reason,
        ...(this.expect.kind === "window"
          ? {
              earliest: this.expect.earliest - mono + now,
              latest: this.expect.latest - mono + now,
            }
          : {}),
      };
      if (previous !== undefined) {
        const spread = Math.min(OPTIONS.reauthSpreadMs, Math.max(0, previous.deadline - mono) / 2);
        if (lifetime < spread && this.subscriptions.some((x) => x.active)) {
          count("fan-out: new credentials live shorter than the spread");
        }
        for (const subscription of this.subscriptions) {
          if (subscription.active) {
            subscription.owed = { gen, deadline: mono + spread };
            count(
              spread > 0 ? "fan-out: staggered delivery owed" : "fan-out: immediate delivery owed",
            );
          }
        }
      }
    } else if (credentials.expiresAt > previous.expiresAt) {
      previous.expiresAt = credentials.expiresAt;
      previous.deadline = deadline;
      count("attempt: same credentials, later expiry");
      this.log(`fetch #${attempt.n} brought the same credentials, later expiry`);
      this.expect = scheduleFrom(lifetime);
    } else {
      count("attempt: same credentials, not later");
      this.log(`fetch #${attempt.n} brought the same credentials, same or earlier expiry`);
      this.expect =
        previous.expiresAt === Number.POSITIVE_INFINITY
          ? scheduleFrom(Number.POSITIVE_INFINITY)
          : { kind: "backoff", from: mono, optional: false };
    }
    if (this.episode !== undefined) this.pendingRecovered = true;
  }

  // --- events -----------------------------------------------------------------------------

  onRefreshed(event: {
    reason: FetchReason;
    username: string;
    expiresAt: number;
    refreshWindow?: { earliest: number; latest: number };
  }): void {
    this.log(`event refreshed (${event.reason})`);
    if (this.disposed) this.violation("9", "refreshed emitted after dispose()");
    const pending = this.pendingRefreshed;
    const held = this.held;
    if (pending === undefined || held === undefined) {
      this.violation("11", "refreshed emitted without new credentials");
      return;
    }
    this.pendingRefreshed = undefined;
    if (event.username !== held.username || event.expiresAt !== held.expiresAt) {
      this.violation("11", "refreshed payload does not describe the new credentials");
    }
    if (event.reason !== pending.reason) {
      this.violation(
        "11",
        `refreshed says reason ${event.reason}, the fetch had ${pending.reason}`,
      );
    }
    const window = event.refreshWindow;
    if (window !== undefined && pending.earliest !== undefined && pending.latest !== undefined) {
      if (
        Math.abs(window.earliest - pending.earliest) > WHOLE_MS + WALL_EPS ||
        Math.abs(window.latest - pending.latest) > WHOLE_MS + WALL_EPS
      ) {
        this.violation(
          "6",
          `refreshWindow [${this.t(window.earliest)}, ${this.t(window.latest)}] is not the docs' [${this.t(pending.earliest)}, ${this.t(pending.latest)}]`,
        );
      }
    }
  }

  onRefreshFailed(error: unknown): void {
    this.log("event refreshFailed");
    if (this.disposed) this.violation("9", "refreshFailed emitted after dispose()");
    if (!(error instanceof CredentialsFetchError)) {
      this.violation(
        "11",
        `refreshFailed payload is not a CredentialsFetchError: ${describeValue(error)}`,
      );
    }
    this.pendingFailures--;
    if (this.pendingFailures < 0) {
      this.violation("11", "refreshFailed emitted without a failed attempt");
      this.pendingFailures = 0;
    }
  }

  onExpired(event: { expiredAt: number }): void {
    count("event: expired");
    this.log("event expired");
    if (this.disposed) this.violation("9", "expired emitted after dispose()");
    const held = this.held;
    if (this.episode !== undefined) this.violation("11", "expired emitted twice in one expiry");
    if (held === undefined) {
      this.violation("11", "expired emitted with no credentials held");
    } else {
      if (event.expiredAt !== held.expiresAt) {
        this.violation("11", "expired.expiredAt is not the held credentials' expiresAt");
      }
      if (this.mono() < held.deadline - AMBIGUOUS_MS) {
        this.violation("11", "expired emitted before the held credentials expired");
      }
    }
    this.episode = { at: this.mono() };
  }

  onRecovered(event: { downtimeMs: number }): void {
    count("event: recovered");
    this.log("event recovered");
    if (this.disposed) this.violation("9", "recovered emitted after dispose()");
    const episode = this.episode;
    if (episode === undefined || !this.pendingRecovered) {
      this.violation("11", "recovered emitted without an expiry ended by a success");
    } else if (Math.abs(event.downtimeMs - (this.mono() - episode.at)) > 1) {
      this.violation(
        "11",
        `recovered.downtimeMs ${event.downtimeMs} is not the time since expired`,
      );
    }
    if (this.pendingRefreshed !== undefined) {
      this.violation("11", "recovered emitted before refreshed (docs: refreshed, then recovered)");
    }
    this.pendingRecovered = false;
    this.episode = undefined;
  }

  // --- callers ----------------------------------------------------------------------------

  /** Runs a getCredentials()/refresh() call, knowing that a fetch it starts is caller-started. */
  asCaller<T>(kind: "get" | "refresh", action: () => T): T {
    this.callerDepth++;
    this.callerKind = kind;
    try {
      return action();
    } finally {
      this.callerDepth--;
    }
  }

  track(call: Call, promise: Promise<RedisCredentials>): void {
    this.calls.push(call);
    promise.then(
      (value) => {
        call.settled = true;
        count(`${call.kind}: resolved`);
        this.onResolved(call, value);
      },
      (error: unknown) => {
        call.settled = true;
        count(`${call.kind}: rejected${call.mustReject ? ` (${call.mustReject.why})` : ""}`);
        this.onRejected(call, error);
      },
    );
  }

  onResolved(call: Call, value: RedisCredentials): void {
    const what = `${call.kind === "get" ? "getCredentials" : "refresh"}() #${call.id}`;
    if (call.mustReject !== undefined) {
      this.violation(
        call.mustReject.why === "disposed" ? "9" : "12",
        `${what} resolved although it had to reject (${call.mustReject.why})`,
      );
    }
    this.checkHandedOut(`${what} resolved with`, value);
  }

  checkHandedOut(what: string, value: unknown): void {
    if (typeof value !== "object" || value === null) {
      this.violation("2", `${what} ${describeValue(value)}, not credentials`);
      return;
    }
    const credentials = value as RedisCredentials;
    if (!this.deadlines.has(`${credentials.password}@${credentials.expiresAt}`)) {
      this.violation("2", `${what} credentials the source never handed out`);
    }
    if (this.isExpired(credentials)) {
      this.violation(
        "2",
        `${what} expired credentials (expired at ${this.t(credentials.expiresAt)})`,
      );
    }
  }

  onRejected(call: Call, error: unknown): void {
    const what = `${call.kind === "get" ? "getCredentials" : "refresh"}() #${call.id}`;
    const must = call.mustReject;
    if (must?.why === "abort") {
      if (error !== must.reason) {
        this.violation(
          "12",
          `${what} rejected with ${describeValue(error)}, not its signal's reason`,
        );
      }
      return;
    }
    if (must?.why === "disposed") {
      if (!(error instanceof ManagerDisposedError)) {
        this.violation(
          "9",
          `${what} rejected with ${describeValue(error)}, not ManagerDisposedError`,
        );
      }
      return;
    }
    if (must?.why === "invalid") {
      if (!(error instanceof InvalidOptionsError)) {
        this.violation(
          "12",
          `${what} rejected with ${describeValue(error)}, not InvalidOptionsError`,
        );
      }
      return;
    }
    const documented =
      error instanceof CredentialsFetchError ||
      (call.kind === "get" && error instanceof CredentialsExpiredError);
    if (!documented) {
      this.violation("12", `${what} rejected with an undocumented ${describeValue(error)}`);
    }
  }

  // --- subscribers ------------------------------------------------------------------------

  listener(subscription: () => Subscription): (credentials: RedisCredentials) => unknown {
    return (credentials) => {
      const s = subscription();
      const gen = this.genOf.get(credentials.password);
      const what = `subscriber #${s.id} called with gen ${gen ?? "?"}`;
      this.log(what);
      count("subscriber called");
      if (this.disposed) this.violation("7", `${what} after dispose()`);
      else if (!s.active) this.violation("7", `${what} after it unsubscribed`);
      if (gen === undefined) {
        this.violation("7", `${what}: credentials the source never handed out`);
      } else {
        if (gen === this.firstGen) {
          this.violation("7", `${what}: the first credentials fan out to nobody`);
        }
        if (s.received.has(gen)) this.violation("7", `${what} a second time`);
        else if (gen < s.lastGen) this.violation("7", `${what} after newer gen ${s.lastGen}`);
        const owed = s.owed;
        if (owed !== undefined && gen < owed.gen) {
          this.violation(
            "7",
            `${what}, superseded by gen ${owed.gen}: only the newest is delivered`,
          );
        }
        if (owed !== undefined && gen === owed.gen) {
          if (this.mono() > owed.deadline + EPS) {
            this.violation("7", `${what} after its spread ended at ${this.tMono(owed.deadline)}`);
          }
          s.owed = undefined;
        }
        s.received.add(gen);
        s.lastGen = Math.max(s.lastGen, gen);
      }
      if (this.isExpired(credentials)) {
        this.violation(
          "7c",
          `${what}: credentials that expired at ${this.t(credentials.expiresAt)}`,
        );
      }
      switch (s.behaviour) {
        case "return":
          return undefined;
        case "resolve":
          return Promise.resolve();
        case "throw":
          throw makeThrown(s.thrown);
        case "reject":
          return Promise.reject(makeThrown(s.thrown));
      }
    };
  }

  // --- checks after every command -----------------------------------------------------------

  async settle(): Promise<void> {
    await flushPromises();
  }

  /** Throws with every violation found so far, and the recent trace. */
  checkpoint(label: string): void {
    count(
      `command: ${label.replace(/\(.*$/, "").replace(/→.*$/, "")}${this.disposed ? " (disposed)" : ""}`,
    );
    const now = this.now();
    const mono = this.mono();
    for (const reason of this.unhandled.splice(0)) {
      this.violation("8", `unhandled rejection: ${describeValue(reason)}`);
    }
    for (const call of this.calls) {
      if (call.mustReject !== undefined && !call.settled) {
        this.violation(
          call.mustReject.why === "disposed" ? "9" : "3",
          `${call.kind}() #${call.id} has not settled although ${call.mustReject.why === "abort" ? "its signal aborted" : call.mustReject.why === "disposed" ? "the manager is disposed" : "its signal is invalid"}`,
        );
      }
    }
    if (this.disposed) {
      if (this.fake.pending !== 0 || this.managerTimers.size !== 0) {
        this.violation(
          "9",
          `${this.managerTimers.size} manager timer(s) (${this.fake.pending} in all) pending after dispose()`,
        );
      }
      const state = this.manager.status().state;
      if (state !== "disposed") this.violation("9", `status().state is ${state} after dispose()`);
    } else {
      this.checkLive(now, mono);
    }
    if (this.violations.length > 0) {
      const message = [
        `after ${label}:`,
        ...this.violations.map(
          (v) => `  ${v.at} ${v.text}${v.count > 1 ? ` (and ${v.count - 1} more like it)` : ""}`,
        ),
        "recent trace:",
        ...this.trace.map((line) => `  ${line}`),
      ].join("\n");
      this.violations.length = 0;
      throw new Error(message);
    }
  }

  checkLive(now: number, mono: number): void {
    const expect = this.expect;
    if (
      expect.kind === "backoff" &&
      !expect.optional &&
      mono > expect.from + BACKOFF_MAX + WHOLE_MS
    ) {
      this.violation(
        "5",
        `no retry since the failed or unchanged attempt that ended at ${this.tMono(expect.from)} (retries never give up; at most ${BACKOFF_MAX}ms apart)`,
      );
      this.expect = { kind: "none", invariant: "5", why: "(already reported)" };
    }
    if (expect.kind === "window" && mono > expect.latest + WHOLE_MS + EPS) {
      this.violation(
        "6",
        `no scheduled refresh in its window [${this.tMono(expect.earliest)}, ${this.tMono(expect.latest)}]`,
      );
      this.expect = { kind: "none", invariant: "6", why: "(already reported)" };
    }
    if (this.pendingRefreshed !== undefined) {
      this.violation(
        "11",
        `no refreshed event for new credentials gen ${this.pendingRefreshed.gen}`,
      );
      this.pendingRefreshed = undefined;
    }
    if (this.pendingFailures > 0) {
      this.violation("11", "no refreshFailed event for a failed attempt");
      this.pendingFailures = 0;
    }
    if (this.pendingRecovered) {
      this.violation("11", "no recovered event after the success that ended an expiry");
      this.pendingRecovered = false;
      this.episode = undefined;
    }
    const held = this.held;
    if (
      held !== undefined &&
      held.expiresAt !== Number.POSITIVE_INFINITY &&
      mono > held.deadline + WHOLE_MS &&
      this.episode === undefined
    ) {
      this.violation(
        "11",
        `the credentials held expired at ${this.t(held.expiresAt)} but no expired event`,
      );
      this.episode = { at: held.deadline };
    }
    for (const s of this.subscriptions) {
      if (s.active && s.owed !== undefined && mono > s.owed.deadline + EPS) {
        this.violation(
          "7",
          `subscriber #${s.id} was not called with gen ${s.owed.gen} by ${this.tMono(s.owed.deadline)} (the spread)`,
        );
        s.owed = undefined;
      }
    }
    // What is valid now, where the answer does not hinge on rounding.
    let clearly: "valid" | "expired" | "none" | undefined;
    if (held === undefined) clearly = "none";
    else if (now < held.expiresAt - AMBIGUOUS_MS && mono < held.deadline - AMBIGUOUS_MS) {
      clearly = "valid";
    } else if (now >= held.expiresAt + AMBIGUOUS_MS && mono >= held.deadline + AMBIGUOUS_MS) {
      clearly = "expired";
    }
    const state = this.manager.status().state;
    const expectedState =
      clearly === "none"
        ? this.active
          ? "acquiring"
          : "idle"
        : clearly === "valid"
          ? "ready"
          : clearly === "expired"
            ? "expired"
            : undefined;
    if (expectedState !== undefined && state !== expectedState) {
      this.violation("11", `status().state is ${state}, expected ${expectedState}`);
    }
    let peeked: RedisCredentials | undefined;
    try {
      peeked = this.manager.peekCredentials();
    } catch (error) {
      this.violation("2", `peekCredentials() threw ${describeValue(error)}`);
      return;
    }
    if (peeked !== undefined) this.checkHandedOut("peekCredentials() returned", peeked);
    if (clearly === "valid" && held !== undefined) {
      if (
        peeked === undefined ||
        peeked.password !== held.password ||
        peeked.expiresAt !== held.expiresAt
      ) {
        this.violation("2", "peekCredentials() does not return the valid credentials held");
      }
    } else if ((clearly === "expired" || clearly === "none") && peeked !== undefined) {
      this.violation("2", "peekCredentials() returned credentials although none are valid");
    }
  }

  /** The end of every run: dispose, flush, and everything must have settled. */
  async teardown(): Promise<void> {
    if (!this.disposed) await disposeWorld(this);
    await this.fake.advance(0);
    for (const call of this.calls) {
      if (!call.settled) {
        this.violation(
          "3",
          `${call.kind}() #${call.id} (made at ${this.t(call.at)}) never settled`,
        );
      }
    }
    this.checkpoint("the final dispose()");
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function disposeWorld(w: World): Promise<void> {
  if (!w.disposed) {
    w.disposed = true;
    for (const call of w.calls) {
      if (!call.settled && call.mustReject === undefined) call.mustReject = { why: "disposed" };
    }
    w.log("dispose()");
  }
  let result: Promise<void>;
  try {
    result = w.manager.dispose();
  } catch (error) {
    w.violation("9", `dispose() threw ${describeValue(error)}`);
    return;
  }
  let settled = false;
  result.then(
    () => {
      settled = true;
    },
    (error: unknown) => {
      settled = true;
      w.violation("9", `dispose() rejected with ${describeValue(error)}`);
    },
  );
  await advance(w, 0);
  if (!settled) w.violation("9", "dispose() did not settle");
}

async function advance(w: World, ms: number): Promise<void> {
  try {
    await w.fake.advance(ms);
  } catch (error) {
    w.violation("8", `a timer callback threw: ${describeValue(error)}`);
  }
}

// --- commands -------------------------------------------------------------------------------

type Command = fc.AsyncCommand<World, World>;

class AdvanceCommand implements Command {
  constructor(readonly ms: number) {}
  check() {
    return true;
  }
  async run(w: World) {
    await advance(w, this.ms);
    w.checkpoint(this.toString());
  }
  toString() {
    return `advance(${this.ms})`;
  }
}

type SignalKind = "none" | "live" | "aborted" | "invalid";

class GetCommand implements Command {
  constructor(readonly signal: SignalKind) {}
  check() {
    return true;
  }
  async run(w: World) {
    const call: Call = {
      id: w.nextCallId++,
      kind: "get",
      at: w.now(),
      madeWhileDisposed: w.disposed,
      settled: false,
    };
    let options: { signal?: AbortSignal } | undefined;
    if (this.signal === "live" || this.signal === "aborted") {
      call.controller = new AbortController();
      options = { signal: call.controller.signal };
      if (this.signal === "aborted") {
        const reason = { abortedCall: call.id };
        call.controller.abort(reason);
        call.mustReject = { why: "abort", reason };
      }
    } else if (this.signal === "invalid") {
      options = { signal: { aborted: false } as unknown as AbortSignal };
      call.mustReject = { why: "invalid" };
    }
    if (w.disposed) call.mustReject = { why: "disposed" };
    w.log(
      `getCredentials() #${call.id}${this.signal === "none" ? "" : ` (${this.signal} signal)`}`,
    );
    let promise: Promise<RedisCredentials>;
    try {
      promise = w.asCaller("get", () => w.manager.getCredentials(options));
    } catch (error) {
      w.violation("12", `getCredentials() threw synchronously: ${describeValue(error)}`);
      w.checkpoint(this.toString());
      return;
    }
    w.track(call, promise);
    await w.settle();
    w.checkpoint(this.toString());
  }
  toString() {
    return this.signal === "none" ? "getCredentials()" : `getCredentials(${this.signal} signal)`;
  }
}

class AbortCommand implements Command {
  constructor(readonly pick: number) {}
  check() {
    return true;
  }
  async run(w: World) {
    const candidates = w.calls.filter(
      (call) => call.controller !== undefined && !call.controller.signal.aborted,
    );
    const call = candidates[this.pick % Math.max(1, candidates.length)];
    if (call?.controller !== undefined) {
      const reason = { abortedCall: call.id };
      if (!call.settled && call.mustReject === undefined)
        call.mustReject = { why: "abort", reason };
      w.log(`abort the signal of getCredentials() #${call.id}`);
      call.controller.abort(reason);
    }
    await w.settle();
    w.checkpoint(this.toString());
  }
  toString() {
    return `abortSignal(${this.pick})`;
  }
}

class RefreshCommand implements Command {
  check() {
    return true;
  }
  async run(w: World) {
    const call: Call = {
      id: w.nextCallId++,
      kind: "refresh",
      at: w.now(),
      madeWhileDisposed: w.disposed,
      settled: false,
      ...(w.disposed ? { mustReject: { why: "disposed" as const } } : {}),
    };
    w.log(`refresh() #${call.id}`);
    let promise: Promise<RedisCredentials>;
    try {
      promise = w.asCaller("refresh", () => w.manager.refresh());
    } catch (error) {
      w.violation("12", `refresh() threw synchronously: ${describeValue(error)}`);
      w.checkpoint(this.toString());
      return;
    }
    w.track(call, promise);
    await w.settle();
    w.checkpoint(this.toString());
  }
  toString() {
    return "refresh()";
  }
}

class PeekCommand implements Command {
  check() {
    return true;
  }
  async run(w: World) {
    try {
      const peeked = w.manager.peekCredentials();
      if (w.disposed) w.violation("9", "peekCredentials() did not throw after dispose()");
      else if (peeked !== undefined) w.checkHandedOut("peekCredentials() returned", peeked);
    } catch (error) {
      if (!w.disposed || !(error instanceof ManagerDisposedError)) {
        w.violation("9", `peekCredentials() threw ${describeValue(error)}`);
      }
    }
    w.checkpoint(this.toString());
  }
  toString() {
    return "peekCredentials()";
  }
}

class SubscribeCommand implements Command {
  constructor(
    readonly behaviour: ListenerBehaviour,
    readonly thrown: ThrownTag,
  ) {}
  check() {
    return true;
  }
  async run(w: World) {
    const id = w.nextSubscriptionId++;
    let subscription: Subscription | undefined;
    const listener = w.listener(() => subscription as Subscription);
    try {
      const unsubscribe = w.manager.subscribe(listener);
      if (w.disposed) w.violation("9", "subscribe() did not throw after dispose()");
      subscription = {
        id,
        behaviour: this.behaviour,
        thrown: this.thrown,
        unsubscribe,
        active: !w.disposed,
        lastGen: 0,
        received: new Set(),
      };
      w.subscriptions.push(subscription);
      w.log(`subscribe #${id} (${this.toString()})`);
    } catch (error) {
      if (!w.disposed || !(error instanceof ManagerDisposedError)) {
        w.violation("9", `subscribe() threw ${describeValue(error)}`);
      }
    }
    w.checkpoint(this.toString());
  }
  toString() {
    return this.behaviour === "return" || this.behaviour === "resolve"
      ? `subscribe(${this.behaviour})`
      : `subscribe(${this.behaviour} ${this.thrown})`;
  }
}

class UnsubscribeCommand implements Command {
  constructor(readonly pick: number) {}
  check() {
    return true;
  }
  async run(w: World) {
    const subscription = w.subscriptions[this.pick % Math.max(1, w.subscriptions.length)];
    if (subscription !== undefined) {
      subscription.active = false;
      subscription.owed = undefined;
      w.log(`unsubscribe #${subscription.id}`);
      try {
        subscription.unsubscribe(); // also for one already unsubscribed, and after dispose
      } catch (error) {
        w.violation("9", `an unsubscribe function threw ${describeValue(error)}`);
      }
    }
    await w.settle();
    w.checkpoint(this.toString());
  }
  toString() {
    return `unsubscribe(${this.pick})`;
  }
}

class OnCommand implements Command {
  constructor(
    readonly event: TokenManagerEvent,
    readonly thrown: ThrownTag,
  ) {}
  check() {
    return true;
  }
  async run(w: World) {
    const { thrown } = this;
    try {
      w.manager.on(this.event, () => {
        if (w.disposed) w.violation("9", `a ${this.event} handler was called after dispose()`);
        throw makeThrown(thrown);
      });
      if (w.disposed) w.violation("9", "on() did not throw after dispose()");
    } catch (error) {
      if (!w.disposed || !(error instanceof ManagerDisposedError)) {
        w.violation("9", `on() threw ${describeValue(error)}`);
      }
    }
    w.checkpoint(this.toString());
  }
  toString() {
    return `on(${this.event}, throws ${this.thrown})`;
  }
}

class DisposeCommand implements Command {
  check() {
    return true;
  }
  async run(w: World) {
    await disposeWorld(w);
    w.checkpoint(this.toString());
  }
  toString() {
    return "dispose()";
  }
}

/** Changes what the source answers: from now on, or (`once`) for the next fetch only. */
class SourceCommand implements Command {
  constructor(
    readonly mode: SourceMode,
    readonly once: boolean,
  ) {}
  check() {
    return true;
  }
  async run(w: World) {
    if (this.once) w.once.push(this.mode);
    else w.mode = this.mode;
    w.checkpoint(this.toString());
  }
  toString() {
    return `source${this.once ? " once" : ""}→${modeText(this.mode)}`;
  }
}

/** [3]: two hours of a healthy source settle every pending call. */
class SettleCommand implements Command {
  constructor(readonly lifetimeMs: number) {}
  check() {
    return true;
  }
  async run(w: World) {
    w.mode = { kind: "new", lifetimeMs: this.lifetimeMs, timing: { kind: "async" } };
    w.once.length = 0;
    w.log(`source healthy for 2 hours`);
    await advance(w, 2 * HOUR);
    if (!w.disposed) {
      for (const call of w.calls) {
        if (!call.settled) {
          w.violation(
            "3",
            `${call.kind}() #${call.id} (made at ${w.t(call.at)}) still pending after 2 hours of a healthy source`,
          );
        }
      }
    }
    w.checkpoint(this.toString());
  }
  toString() {
    return `settle(source→new(${this.lifetimeMs === Number.POSITIVE_INFINITY ? "Infinity" : `${this.lifetimeMs}ms`}), advance 2h)`;
  }
}

// --- arbitraries ------------------------------------------------------------------------------

const lifetimeArb = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 2_000, max: 4_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 4_001, max: 60_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60_001, max: HOUR }) },
  { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) },
);

const timingArb: fc.Arbitrary<Timing> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "sync" } as const) },
  { weight: 3, arbitrary: fc.constant({ kind: "async" } as const) },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 1, max: 1_500 }).map((ms) => ({ kind: "delay", ms }) as const),
  },
);

const thrownArb = fc.constantFrom(...thrownTags);

const modeArb: fc.Arbitrary<SourceMode> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("new" as const),
      lifetimeMs: lifetimeArb,
      timing: timingArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("same" as const),
      shiftMs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: -60_000, max: -1 }),
        fc.integer({ min: 1, max: HOUR }),
      ),
      timing: timingArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("fail" as const),
      thrown: thrownArb,
      timing: timingArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("permanent" as const), timing: timingArb }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "hang" } as const) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("garbage" as const),
      what: fc.constantFrom<Garbage>(
        "null",
        "empty-object",
        "number",
        "past",
        "empty-password",
        "nan-expiry",
      ),
      timing: timingArb,
    }),
  },
);

/** Mostly the scale of retries and short tokens; sometimes past a long token's life. */
const advanceArb = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 250 }) },
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 3_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: HOUR / 4 }) },
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 20, arbitrary: advanceArb.map((ms) => new AdvanceCommand(ms)) },
  {
    weight: 12,
    arbitrary: fc
      .constantFrom<SignalKind>("none", "none", "none", "live", "live", "aborted", "invalid")
      .map((signal) => new GetCommand(signal)),
  },
  { weight: 4, arbitrary: fc.nat(20).map((pick) => new AbortCommand(pick)) },
  { weight: 10, arbitrary: fc.constant(null).map(() => new RefreshCommand()) },
  { weight: 3, arbitrary: fc.constant(null).map(() => new PeekCommand()) },
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.constantFrom<ListenerBehaviour>("return", "resolve", "throw", "reject"), thrownArb)
      .map(([behaviour, thrown]) => new SubscribeCommand(behaviour, thrown)),
  },
  { weight: 4, arbitrary: fc.nat(20).map((pick) => new UnsubscribeCommand(pick)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...eventNames), thrownArb)
      .map(([event, thrown]) => new OnCommand(event, thrown)),
  },
  { weight: 1, arbitrary: fc.constant(null).map(() => new DisposeCommand()) },
  {
    weight: 14,
    arbitrary: fc.tuple(modeArb, fc.boolean()).map(([mode, once]) => new SourceCommand(mode, once)),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(fc.integer({ min: 10 * 60_000, max: HOUR }), fc.constant(Number.POSITIVE_INFINITY))
      .map((lifetimeMs) => new SettleCommand(lifetimeMs)),
  },
);

const initialModeArb: fc.Arbitrary<SourceMode> = fc.record({
  kind: fc.constant("new" as const),
  lifetimeMs: lifetimeArb,
  timing: timingArb,
});

// --- the property ---------------------------------------------------------------------------

const property = fc.asyncProperty(
  fc.noShrink(fc.integer()),
  initialModeArb,
  fc.commands([commandArb], {
    maxCommands: MAX_COMMANDS,
    size: "max",
    ...(REPLAY_COMMANDS !== undefined ? { replayPath: REPLAY_COMMANDS } : {}),
  }),
  async (rngSeed, initialMode, commands) => {
    count("runs");
    const random = jest.spyOn(Math, "random");
    const w = new World(rngSeed, initialMode);
    random.mockImplementation(w.random);
    current = w;
    try {
      await fc.asyncModelRun(() => ({ model: w, real: w }), commands);
      await w.teardown();
    } finally {
      // After a failure: stop whatever the manager still runs, without judging it.
      if (!w.disposed) {
        w.disposed = true;
        try {
          await w.manager.dispose();
        } catch {
          // already reported, or beside the point
        }
      }
      try {
        await w.fake.advance(0);
      } catch {
        // idem
      }
      random.mockRestore();
      current = undefined;
      if (STATS) {
        const timers = w.fake.delays.length;
        const bucket =
          timers < 100 ? "<100" : timers < 1_000 ? "<1k" : timers < 10_000 ? "<10k" : "10k+";
        count(`timers per run: ${bucket}`);
        stats.set("timers in all", (stats.get("timers in all") ?? 0) + timers);
      }
    }
  },
);

test(`the token manager keeps the promises of docs/core.md under random command sequences (MODEL_SEED=${SEED})`, async () => {
  // [8] is judged here. jest runs the test in a vm context whose `process` is a copy: the
  // host's process is the one that emits unhandledRejection, and jest-circus listens on it
  // (it would fail the test outside fast-check, without shrinking). Take its place meanwhile.
  const host = (vm.runInThisContext("process") as NodeJS.Process | undefined) ?? process;
  const saved = host.rawListeners("unhandledRejection") as ((...args: unknown[]) => void)[];
  host.removeAllListeners("unhandledRejection");
  const onUnhandled = (reason: unknown) => {
    current?.unhandled.push(reason);
  };
  host.on("unhandledRejection", onUnhandled);
  try {
    await fc.assert(property, {
      seed: SEED,
      numRuns: NUM_RUNS,
      ...(REPLAY_PATH !== undefined ? { path: REPLAY_PATH } : {}),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const path = /path: "([^"]*)"/.exec(message)?.[1];
    const replayPath = /replayPath="([^"]*)"/.exec(message)?.[1];
    const reproduce =
      `Reproduce with: MODEL_SEED=${SEED}` +
      (path !== undefined ? ` MODEL_PATH=${path}` : "") +
      (replayPath !== undefined ? ` MODEL_REPLAY_PATH='${replayPath}'` : "") +
      " npx jest packages/core/test/unit/model.test.ts --selectProjects unit";
    if (error instanceof Error) {
      error.message = `${reproduce}\n\n${message}\n\n${reproduce}`;
    }
    throw error;
  } finally {
    if (STATS) {
      const lines = [...stats].sort(([a], [b]) => a.localeCompare(b));
      console.log(lines.map(([what, n]) => `${String(n).padStart(7)}  ${what}`).join("\n"));
    }
    host.off("unhandledRejection", onUnhandled);
    for (const listener of saved) host.on("unhandledRejection", listener);
  }
}, 180_000);
