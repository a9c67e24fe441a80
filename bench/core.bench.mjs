// Micro-benchmarks of @redis-credentials/core (the built package: run `npm run bench` at the root,
// which builds first). Each figure is the median of several rounds timed with
// process.hrtime.bigint(); where time matters to the manager (staggered fan-out) it runs on a
// fake clock, so the figures measure the manager and not the wait. Prints a table and writes
// bench/results/core.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTokenManager } from "@redis-credentials/core";

// The memory figures need gc(): re-run this script under --expose-gc when it is missing.
if (typeof globalThis.gc !== "function") {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(child.status ?? 1);
}
const gc = globalThis.gc;

const HOUR = 3_600_000;

// --- helpers ------------------------------------------------------------------------------

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Runs `fn` `rounds` times after `warmup` untimed runs; returns each round's nanoseconds. */
async function rounds(count, fn, warmup = 1) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - started));
  }
  return times;
}

/** A source whose every fetch returns new credentials that live an hour on `clock`. */
function hourlySource(clock = { now: () => Date.now() }) {
  let serial = 0;
  const source = {
    name: "bench",
    fetches: 0,
    async fetch() {
      source.fetches++;
      return { username: "default", password: `token-${++serial}`, expiresAt: clock.now() + HOUR };
    },
  };
  return source;
}

/**
 * A fake clock: time moves only in advance(), which runs due timers in time order. A binary heap
 * keeps 10,000 pending timers cheap, so that the fan-out figures measure the manager.
 */
class FakeClock {
  #now = Date.UTC(2026, 0, 1);
  #heap = [];
  #seq = 0;

  now() {
    return this.#now;
  }

  setTimeout(callback, ms) {
    const timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback, cancelled: false };
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
    return timer;
  }

  clearTimeout(timer) {
    if (timer) timer.cancelled = true;
  }

  advance(ms) {
    const end = this.#now + ms;
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].at <= end) {
      const timer = this.#pop();
      if (timer.cancelled) continue;
      this.#now = timer.at;
      timer.callback();
    }
    this.#now = end;
  }

  #pop() {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}
const before = (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

function settleGc() {
  for (let i = 0; i < 3; i++) gc();
}

// --- the benchmarks -------------------------------------------------------------------------

const results = {};
const table = [];
const row = (name, value, unit, note = "") => table.push({ name, value, unit, note });
const fmt = (n, digits = 1) =>
  n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(digits);

// (a) getCredentials() on a warm cache: the cost of every connection's AUTH lookup.
{
  const manager = createTokenManager(hourlySource());
  await manager.getCredentials();
  const ops = 1_000_000;
  const times = await rounds(7, async () => {
    for (let i = 0; i < ops; i++) await manager.getCredentials();
  });
  const nsPerOp = median(times) / ops;
  results.getCredentialsWarm = {
    ops,
    rounds: times.map((t) => t / ops),
    nsPerOp,
    opsPerSec: 1e9 / nsPerOp,
  };
  row(
    "getCredentials(), warm cache",
    fmt(nsPerOp),
    "ns/op",
    `${fmt(1e9 / nsPerOp)} ops/s (sequential await)`,
  );
  await manager.dispose();
}

// (b) peekCredentials(): the synchronous read, with the real clock and with an injected one
// (the gap is Date.now(), which costs tens of nanoseconds on some virtual machines).
for (const clock of [undefined, new FakeClock()]) {
  const manager = createTokenManager(hourlySource(clock), clock ? { clock } : {});
  await manager.getCredentials();
  const ops = 10_000_000;
  let sink = 0;
  const times = await rounds(7, () => {
    for (let i = 0; i < ops; i++) sink += manager.peekCredentials().expiresAt & 1;
  });
  const nsPerOp = median(times) / ops;
  const key = clock ? "peekCredentialsInjectedClock" : "peekCredentials";
  results[key] = { ops, rounds: times.map((t) => t / ops), nsPerOp, sink };
  row(
    clock ? "peekCredentials(), injected clock" : "peekCredentials()",
    fmt(nsPerOp, 2),
    "ns/op",
    `${fmt(1e9 / nsPerOp)} ops/s`,
  );
  await manager.dispose();
}
{
  const ops = 10_000_000;
  let sink = 0;
  const times = await rounds(7, () => {
    for (let i = 0; i < ops; i++) sink += Date.now() & 1;
  });
  results.dateNow = { nsPerOp: median(times) / ops, sink };
  row("  for reference: Date.now()", fmt(results.dateNow.nsPerOp, 2), "ns/op");
}

// (c) Fan-out of new credentials to 10,000 subscribers, at once and staggered (fake clock).
const SUBSCRIBERS = 10_000;
for (const spreadMs of [0, 5_000]) {
  const clock = new FakeClock();
  const manager = createTokenManager(hourlySource(clock), {
    clock,
    reauthSpreadMs: spreadMs,
    minRefreshIntervalMs: 1,
  });
  await manager.getCredentials();
  let delivered = 0;
  const listener = () => {
    delivered++;
  };
  for (let i = 0; i < SUBSCRIBERS; i++) manager.subscribe(listener);

  const schedule = [];
  const deliver = [];
  for (let round = 0; round < 11; round++) {
    clock.advance(spreadMs + 1); // past minRefreshIntervalMs, so refresh() really fetches
    delivered = 0;
    const t0 = process.hrtime.bigint();
    await manager.refresh(); // fetch, then the fan-out: deliveries (spread 0) or timers (spread > 0)
    const t1 = process.hrtime.bigint();
    clock.advance(spreadMs); // fires every staggered delivery
    const t2 = process.hrtime.bigint();
    if (delivered !== SUBSCRIBERS) throw new Error(`delivered ${delivered} of ${SUBSCRIBERS}`);
    if (round === 0) continue; // warm-up
    schedule.push(Number(t1 - t0));
    deliver.push(Number(t2 - t1));
  }
  const total = schedule.map((s, i) => s + deliver[i]);
  const key = spreadMs === 0 ? "fanOutImmediate" : "fanOutSpread";
  results[key] = {
    subscribers: SUBSCRIBERS,
    reauthSpreadMs: spreadMs,
    msPerFanOut: median(total) / 1e6,
    nsPerSubscriber: median(total) / SUBSCRIBERS,
    msToSchedule: median(schedule) / 1e6,
    msToDeliver: median(deliver) / 1e6,
  };
  const r = results[key];
  row(
    `fan-out to 10,000, reauthSpreadMs ${spreadMs}`,
    fmt(r.msPerFanOut, 2),
    "ms",
    spreadMs === 0
      ? `${fmt(r.nsPerSubscriber)} ns/subscriber (fetch included)`
      : `${fmt(r.nsPerSubscriber)} ns/subscriber: ${fmt(r.msToSchedule, 2)} ms scheduling + ${fmt(r.msToDeliver, 2)} ms firing (fake clock)`,
  );
  await manager.dispose();
}

// (d) Memory: heap per manager (idle, and holding credentials with its timers) and per subscriber.
{
  const MANAGERS = 10_000;
  const source = hourlySource();
  const managers = new Array(MANAGERS).fill(null);
  settleGc();
  let base = process.memoryUsage().heapUsed;
  for (let i = 0; i < MANAGERS; i++) managers[i] = createTokenManager(source);
  settleGc();
  const idle = (process.memoryUsage().heapUsed - base) / MANAGERS;

  base = process.memoryUsage().heapUsed;
  await Promise.all(managers.map((manager) => manager.getCredentials()));
  settleGc();
  // Credentials (the password string itself excluded: "token-N" is tiny), refresh and expiry timers.
  const ready = idle + (process.memoryUsage().heapUsed - base) / MANAGERS;
  await Promise.all(managers.map((manager) => manager.dispose()));
  managers.fill(null);

  const SUBS = 100_000;
  const manager = createTokenManager(hourlySource());
  await manager.getCredentials();
  const listener = () => {};
  const unsubscribes = new Array(SUBS).fill(null);
  settleGc();
  base = process.memoryUsage().heapUsed;
  // One shared listener, so that the figure is the manager's cost; the caller keeps each unsubscribe.
  for (let i = 0; i < SUBS; i++) unsubscribes[i] = manager.subscribe(listener);
  settleGc();
  const perSubscriber = (process.memoryUsage().heapUsed - base) / SUBS;
  for (const unsubscribe of unsubscribes) unsubscribe();
  await manager.dispose();

  results.memory = {
    managers: MANAGERS,
    bytesPerIdleManager: idle,
    bytesPerReadyManager: ready,
    subscribers: SUBS,
    bytesPerSubscriber: perSubscriber,
  };
  row("heap per manager, idle", fmt(idle), "bytes", "10,000 managers, before the first fetch");
  row(
    "heap per manager, ready",
    fmt(ready),
    "bytes",
    "holding credentials + refresh/expiry timers",
  );
  row("heap per subscriber", fmt(perSubscriber), "bytes", "100,000 subscribers, unsubscribe kept");
}

// (e) Cold start: 1,000 concurrent getCredentials() on a new manager share one fetch.
{
  const CALLERS = 1_000;
  const managers = [];
  const times = await rounds(21, async () => {
    const source = hourlySource();
    const manager = createTokenManager(source);
    managers.push(manager);
    await Promise.all(Array.from({ length: CALLERS }, () => manager.getCredentials()));
    if (source.fetches !== 1) throw new Error(`expected one fetch, got ${source.fetches}`);
  });
  await Promise.all(managers.map((manager) => manager.dispose()));
  results.coldStart = {
    callers: CALLERS,
    msToResolveAll: median(times) / 1e6,
    nsPerCaller: median(times) / CALLERS,
  };
  row(
    "cold start, 1,000 concurrent callers",
    fmt(results.coldStart.msToResolveAll, 3),
    "ms",
    `one fetch; ${fmt(results.coldStart.nsPerCaller)} ns/caller`,
  );
}

// --- report ----------------------------------------------------------------------------------

const environment = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpu: os.cpus()[0]?.model ?? "unknown",
  date: new Date().toISOString(),
};
const widths = [42, 10, 6];
console.log(`@redis-credentials/core benchmarks: Node ${environment.node}, ${environment.cpu}`);
console.log(`${"".padEnd(widths[0])} ${"median".padStart(widths[1])} ${"unit".padEnd(widths[2])}`);
for (const { name, value, unit, note } of table) {
  console.log(
    `${name.padEnd(widths[0])} ${value.padStart(widths[1])} ${unit.padEnd(widths[2])} ${note}`,
  );
}

const out = join(dirname(fileURLToPath(import.meta.url)), "results", "core.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ environment, results }, null, 2)}\n`);
console.log(`\nwritten to ${out}`);
