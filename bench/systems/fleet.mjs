// What every system's open() shares: opening `count` connections in batches, and the Fleet
// around them. The systems differ only in how one connection is made and what else they start.

/**
 * Connections opened at once. All at once, 1,000 connects (and, for some systems, 1,000 token
 * requests) queue behind each other and the first ones time out; one at a time, 1,000 take tens
 * of seconds. Batches of 100 open 1,000 in a few seconds.
 */
export const BATCH_SIZE = 100;

/**
 * How a fleet talks to one client library: every library here has `get(key)` and
 * `set(key, value)`; they differ in how a client is closed.
 * @typedef {object} Library
 * @property {string} name `ioredis`, `node-redis`, `valkey-glide` or `iovalkey`.
 * @property {(client: any) => unknown} close Closes the client at once (no QUIT round trip).
 */

/**
 * Opens `count` connections with `connect(index)` in batches of {@link BATCH_SIZE}, and resolves
 * to the Fleet around them. If any connect fails, the ones already open are closed and `cleanup`
 * runs before the error is rethrown, so that a failed open leaks nothing.
 * @param {object} spec
 * @param {number} spec.count
 * @param {Library} spec.library
 * @param {(index: number) => Promise<any>} spec.connect
 * @param {() => number | undefined} [spec.tokenRequests] @default () => undefined
 * @param {() => number | undefined} [spec.unscheduledFetches] @default () => undefined
 * @param {() => unknown} [spec.cleanup] What the system started besides the clients (a manager,
 *   a provider, timers); runs after every client is closed.
 * @returns {Promise<import("./system.mjs").Fleet>}
 */
export async function openFleet({
  count,
  library,
  connect,
  tokenRequests = () => undefined,
  unscheduledFetches = () => undefined,
  cleanup = () => {},
}) {
  const clients = [];
  const closeAll = async () => {
    await Promise.allSettled(clients.map(async (client) => library.close(client)));
    await cleanup();
  };
  try {
    for (let start = 0; start < count; start += BATCH_SIZE) {
      const size = Math.min(BATCH_SIZE, count - start);
      const batch = await Promise.allSettled(
        Array.from({ length: size }, (_, offset) => connect(start + offset)),
      );
      for (const result of batch) if (result.status === "fulfilled") clients.push(result.value);
      const failed = batch.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  const at = (index) => clients[index % clients.length];
  return {
    size: clients.length,
    get: (index, key) => at(index).get(key),
    set: (index, key, value) => at(index).set(key, value),
    tokenRequests,
    unscheduledFetches,
    close: closeAll,
  };
}
