// A steady workload through a fleet while something happens to it (a rotation, a reconnect
// storm): every command's latency and outcome, timed, so that a scenario can compare windows and
// draw percentiles over time.

import { now, quantile, sleep } from "./figures.mjs";

/**
 * Starts `loops` command loops over `fleet` (each a GET or a SET on the next connection, `pauseMs`
 * apart). `stop()` ends them and resolves with every sample: `{ at, ms, ok }`, `at` in ms on
 * `performance.now()`'s clock. A command that has not answered in `timeoutMs` counts as failed,
 * and its loop moves on: a client that queues commands while it cannot reconnect must not stall
 * the probe.
 */
export function startProbe(fleet, { loops = 4, pauseMs = 2, timeoutMs = 2_000 } = {}) {
  const samples = [];
  const errors = [];
  let running = true;
  let next = 0;
  const loop = async (id) => {
    for (let i = 0; running; i++) {
      const index = next++;
      const started = now();
      try {
        const command =
          i % 2 === 0
            ? fleet.set(index, `bench:${id}`, String(i))
            : fleet.get(index, `bench:${id}`);
        await withTimeout(command, timeoutMs);
        samples.push({ at: started, ms: now() - started, ok: true });
      } catch (error) {
        samples.push({ at: started, ms: now() - started, ok: false });
        if (errors.length < 5) errors.push(error instanceof Error ? error.message : String(error));
      }
      await sleep(pauseMs);
    }
  };
  const finished = Array.from({ length: loops }, (_, id) => loop(id));
  return {
    async stop() {
      running = false;
      await Promise.all(finished);
      return { samples, errors };
    },
  };
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  promise.catch(() => {}); // answered after the timeout: already counted as failed
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** p50, p99 and max latency (ms) and failures of the samples started in [from, to). */
export function windowStats(samples, from, to) {
  const inside = samples.filter((sample) => sample.at >= from && sample.at < to);
  const latencies = inside.map((sample) => sample.ms);
  return {
    commands: inside.length,
    failed: inside.filter((sample) => !sample.ok).length,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.length > 0 ? Math.max(...latencies) : Number.NaN,
  };
}

/**
 * p50 and p99 latency per `bucketMs` window from `from` to `to`, as chart points with x in seconds
 * relative to `origin`.
 */
export function latencyOverTime(samples, { from, to, origin, bucketMs = 250 }) {
  const p50 = [];
  const p99 = [];
  for (let start = from; start < to; start += bucketMs) {
    const window = windowStats(samples, start, start + bucketMs);
    const x = round2((start - origin) / 1000);
    if (Number.isFinite(window.p50)) p50.push([x, round2(window.p50)]);
    if (Number.isFinite(window.p99)) p99.push([x, round2(window.p99)]);
  }
  return { p50, p99 };
}

/** One latency chart per percentile, one line per system, from each system's `latency` trace. */
export function latencyCharts({ id, what, origin, traces }) {
  return ["p50", "p99"].map((percentile) => ({
    id: `${id}-${percentile}`,
    title: `Command latency (${percentile} per 250 ms) around ${what}`,
    x: { label: `time from ${origin.label}`, unit: "s" },
    y: { label: `${percentile} latency`, unit: "ms" },
    series: [...traces].map(([name, trace]) => ({ name, points: trace.latency[percentile] })),
    markers: [{ x: 0, label: origin.label }],
  }));
}

export const round2 = (value) => Math.round(value * 100) / 100;
