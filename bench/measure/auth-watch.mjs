// What the server sees of a rotation: each connection's AUTHs, polled from the token Redis, so
// that every system is measured the same way from outside, whatever its client does.

import { now } from "./figures.mjs";
import { round2 } from "./latency-probe.mjs";

/**
 * Polls `server.connections()` every `everyMs` and records, for each connection, the time of every
 * AUTH it made after the watch began. `stop()` resolves with the events (`{ id, at }`, `at` on
 * `performance.now()`'s clock) and the connections seen.
 */
export function watchAuths(server, { everyMs = 20 } = {}) {
  const counts = new Map(server.connections().map((c) => [c.id, c.authSuccesses]));
  const events = [];
  const reauthenticated = new Set();
  const poll = () => {
    const at = now();
    for (const connection of server.connections()) {
      const before = counts.get(connection.id);
      // A connection made during the watch: its handshake is not a re-AUTH.
      if (before === undefined) {
        counts.set(connection.id, connection.authSuccesses);
        continue;
      }
      for (let n = before; n < connection.authSuccesses; n++)
        events.push({ id: connection.id, at });
      if (connection.authSuccesses > before) reauthenticated.add(connection.id);
      counts.set(connection.id, connection.authSuccesses);
    }
  };
  const timer = setInterval(poll, everyMs);
  return {
    /** How many connections have re-AUTHed at least once so far. */
    reauthenticated: () => reauthenticated.size,
    stop() {
      clearInterval(timer);
      poll();
      return { events, connections: counts.size };
    },
  };
}

/** AUTHs per second in `bucketMs` buckets from `from` to `to`, x in seconds relative to `origin`. */
export function authRate(events, { from, to, origin, bucketMs = 100 }) {
  const points = [];
  for (let start = from; start < to; start += bucketMs) {
    const inside = events.filter((event) => event.at >= start && event.at < start + bucketMs);
    points.push([round2((start - origin) / 1000), (inside.length * 1000) / bucketMs]);
  }
  return points;
}

/**
 * The highest AUTH rate, per second, over any `windowMs` window: a burst that a one-second window
 * would average away (1,000 AUTHs in 20 ms) shows as what it is.
 */
export function peakAuthsPerSecond(events, windowMs = 100) {
  const times = events.map((event) => event.at).sort((a, b) => a - b);
  let peak = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[last] - times[first] >= windowMs) first++;
    peak = Math.max(peak, last - first + 1);
  }
  return (peak * 1000) / windowMs;
}

/** Connections the server holds authenticated, whoever their user. */
export function authenticatedConnections(server) {
  return Object.values(server.stats().connectionsByUser).reduce((sum, n) => sum + n, 0);
}
