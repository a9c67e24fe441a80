import * as redis from "redis";
import type { CreateClientOptions } from "../../src";
import type { Fixture } from "./helpers";

// What does not depend on the client library comes from @redis-credentials/test-helpers.
export {
  collectErrors,
  connectionOf,
  describeErrors,
  fixturesBeforeAll,
  keySlot,
  managerFor,
  nextDelivery,
  nextRefresh,
  otherIdentity,
  rejectedAuths,
  report,
  runLoop,
  type SourceMode,
  type SwitchableSource,
  switchableSource,
  tagsInEveryShard,
  WRONG_USER,
  waitFor,
} from "@redis-credentials/test-helpers";

/*
 * Helpers shared by the node-redis rejections, transactions, blocking, load and BullMQ tests.
 */

/** `createClient` options that reach the fixture's server (plain TCP: a local test server). */
export function clientOptions(
  fixture: Fixture,
  extra: Omit<CreateClientOptions, "socket"> & { socket?: Record<string, unknown> } = {},
): CreateClientOptions {
  const { socket, ...rest } = extra;
  const tls =
    fixture.server.ca === undefined
      ? {}
      : { tls: true as const, ca: fixture.server.ca, servername: "localhost" };
  return {
    ...rest,
    socket: { host: fixture.server.host, port: fixture.server.port, ...tls, ...socket },
    ...(fixture.server.ca === undefined && { allowInsecureTransport: true }),
  } as CreateClientOptions;
}

/** Anything with node-redis's `isOpen` and `destroy()`: a client, a pool, a cluster. */
interface Closable {
  readonly isOpen: boolean;
  destroy(): unknown;
}

/** Closes `client` if it is open: node-redis 5's destroy() throws ClientClosedError otherwise. */
export function closeClient(client: Closable | undefined): void {
  if (client?.isOpen) client.destroy();
}

/**
 * What node-redis reports when the server closes a connection: `SocketClosedUnexpectedlyError`
 * after a clean close, the socket's ECONNRESET when the close raced bytes in flight.
 */
export function isConnectionLost(error: unknown): boolean {
  return (
    error instanceof redis.SocketClosedUnexpectedlyError ||
    (error as { code?: unknown } | undefined)?.code === "ECONNRESET"
  );
}
