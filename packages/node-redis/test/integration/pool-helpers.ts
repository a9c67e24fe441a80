import { nodeRedisMajor } from "./helpers";

// What does not depend on the client library comes from @redis-credentials/test-helpers.
export {
  afterRotations,
  authsByConnection,
  collectErrors,
  listenerCounts,
  nextRefresh,
  report,
  runScriptAgainst,
  waitFor,
  within,
} from "@redis-credentials/test-helpers";

/*
 * Small helpers shared by the node-redis integration tests of reconnects, pools, lifecycle and
 * transport: error collection, polling, listener counts, pool members, figures.
 */

/**
 * Token options for these tests: tokens of 6 s refreshed 3 s before expiry, a rotation about every
 * 3 s. The fixture's default (3 s tokens refreshed 1 s before expiry) leaves a 1 s margin, which a
 * CPU-starved run eats: the token-enforcing proxy shares the test's event loop, and on a busy
 * 2-core machine that loop stalls for seconds; when it resumes, the proxy's expiry timer runs
 * before it reads an AUTH already waiting in its socket. Three seconds absorb such stalls.
 */
export const ROOMY_ROTATION = { lifetimeMs: 6_000, refreshBeforeExpiryMs: 3_000 };

/**
 * The members of a node-redis pool of exactly `size` connections (minimum = maximum = size):
 * `size` tasks hold a member each until every one has its own, so each member shows up once.
 */
export async function poolMembers<C>(
  pool: { execute<T>(fn: (client: C) => T | Promise<T>): Promise<T> },
  size: number,
): Promise<C[]> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived = 0;
  const members = Promise.all(
    Array.from({ length: size }, () =>
      pool.execute(async (client) => {
        if (++arrived === size) release();
        await held;
        return { client };
      }),
    ),
  );
  const all = await members;
  const clients = all.map(({ client }) => client);
  if (new Set(clients).size !== size) throw new Error(`expected ${size} distinct pool members`);
  return clients;
}

/** Destroys a node-redis client or pool unless it is closed already (5.x throws then). */
export function destroyQuietly(client: { isOpen: boolean; destroy(): unknown } | undefined): void {
  if (client === undefined || !client.isOpen) return;
  try {
    client.destroy();
  } catch {
    // Closed meanwhile.
  }
}

/** A dropped connection is reported on `error`: only that may appear there. */
export const SOCKET_DROP = /Socket closed unexpectedly|ECONNRESET|EPIPE/;

/**
 * node-redis 5.12 only (6.x checks that the socket is still writable): a command queued in the
 * event-loop turn that sees its connection drop is written, from a setImmediate, to the dead
 * socket after the queue was flushed; it then waits on the next socket and takes the handshake's
 * first reply, and the handshake gets the reply after it: CLIENT SETINFO's error on Redis < 7.2.
 * node-redis reports that on `error` and reconnects again. The adapter's own unsent AUTHs are
 * withdrawn on `reconnecting`, before that write; the test's traffic is not. Seen a few times in
 * a hundred runs, on a loaded machine.
 */
export const NODE_REDIS5_MISREAD = /ERR unknown subcommand 'SETINFO'/;

/** The errors of each emitter that are not a dropped connection, as `name: message`. */
export function unexpectedErrors(errors: Record<string, Error[]>): string[] {
  const expected = (error: Error) =>
    SOCKET_DROP.test(error.message) ||
    (nodeRedisMajor === 5 && NODE_REDIS5_MISREAD.test(error.message));
  return Object.entries(errors).flatMap(([name, list]) =>
    list.filter((error) => !expected(error)).map((e) => `${name}: ${e.message}`),
  );
}

/** How many handshakes node-redis 5 misread (see NODE_REDIS5_MISREAD), for the figures. */
export function misreads(errors: Record<string, Error[]>): number {
  return Object.values(errors)
    .flat()
    .filter((error) => NODE_REDIS5_MISREAD.test(error.message)).length;
}
