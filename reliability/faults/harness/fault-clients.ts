import {
  type CredentialSource,
  createTokenManager,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { fastRotation } from "@redis-credentials/test-helpers";
import {
  type ConnectionStats,
  emulatorSource,
  type RegisteredClient,
} from "@redis-credentials/testing";
import {
  ADAPTERS,
  type AdapterClient,
  type AdapterName,
  type AdapterSettings,
  connectAdapter,
} from "./adapters";
import { type CountingSource, countingSource } from "./counting-source";
import { type FaultEnvironment, TOPOLOGIES, type Topology } from "./fault-environment";

/** One client of one adapter and topology, with a manager and an identity of its own. */
export interface FaultClient extends AdapterClient {
  /** `<adapter>/<topology>`: put it in every failure message. */
  readonly label: string;
  readonly adapter: AdapterName;
  readonly topology: Topology;
  /** The app registered with the emulator; its object id is the Redis user of this client. */
  readonly app: RegisteredClient;
  readonly user: string;
  /** Every fetch the manager made, with when and how it ended. */
  readonly source: CountingSource;
  readonly manager: TokenManager;
  /** Errors reported outside commands: the client's `error` event (GLIDE: `onError`) and the manager's `subscriberError`. */
  readonly errors: Error[];
  /** This client's live connections on its server (every node of the cluster). */
  connections(): ConnectionStats[];
  /** Closes this client's connections server-side, as a server kill does; returns how many. */
  killConnections(): number;
}

export interface StartClientsOptions extends AdapterSettings {
  /** Lifetime of the tokens the emulator issues this client's app. @default 3_000 */
  lifetimeMs?: number;
  /** Over test-helpers' `fastRotation` (refresh 1 s before expiry, retries 50–500 ms). */
  manager?: TokenManagerOptions;
  /** @default every adapter */
  adapters?: readonly AdapterName[];
  /** @default both */
  topologies?: readonly Topology[];
  /**
   * Wraps the emulator source (tokens over HTTPS, faults applied) before counting: a source that
   * shortens tokens, say. The counting source records the manager's calls to the wrapper.
   */
  wrapSource?: (source: CredentialSource, app: RegisteredClient) => CredentialSource;
}

/** The clients of one case; `close()` closes them all and disposes their managers. */
export type FaultClients = FaultClient[] & { close(): Promise<void> };

const open = new Set<FaultClients>();

// A test that failed half way skips its own close(): end its clients with the file.
afterAll(async () => {
  await Promise.all([...open].map((clients) => clients.close()));
});

/**
 * One client per adapter and topology (8 by default), all connected concurrently, each with its
 * own app on the emulator (its own Redis user), its own counting source and its own manager.
 * Rejects, naming the client, when one fails to connect (the others are closed).
 */
export async function startClients(
  environment: FaultEnvironment,
  options: StartClientsOptions = {},
): Promise<FaultClients> {
  const pairs = (options.adapters ?? ADAPTERS).flatMap((adapter) =>
    (options.topologies ?? TOPOLOGIES).map((topology) => ({ adapter, topology })),
  );
  const started = await Promise.allSettled(
    pairs.map(({ adapter, topology }) => startClient(environment, adapter, topology, options)),
  );
  const clients = Object.assign(
    started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : [])),
    {
      async close() {
        open.delete(clients);
        await Promise.all(
          clients.map(async (client) => {
            await client.close().catch(() => {});
            await client.manager.dispose();
          }),
        );
      },
    },
  );
  open.add(clients);
  const failed = started.flatMap((result, index) =>
    result.status === "rejected" ? [`${label(pairs[index]!)}: ${String(result.reason)}`] : [],
  );
  if (failed.length > 0) {
    await clients.close();
    throw new Error(`clients failed to connect:\n${failed.join("\n")}`);
  }
  return clients;
}

function label({ adapter, topology }: { adapter: AdapterName; topology: Topology }): string {
  return `${adapter}/${topology}`;
}

async function startClient(
  environment: FaultEnvironment,
  adapter: AdapterName,
  topology: Topology,
  options: StartClientsOptions,
): Promise<FaultClient> {
  const { idp } = environment;
  const app = idp.registerClient({ tokenLifetimeMs: options.lifetimeMs ?? 3_000 });
  const emulator = emulatorSource(idp, {
    clientId: app.clientId,
    clientSecret: app.clientSecret as string,
    name: `emulator-${adapter}-${topology}`,
  });
  const source = countingSource(options.wrapSource?.(emulator, app) ?? emulator);
  const manager = createTokenManager(source, { ...fastRotation, ...options.manager });
  const errors: Error[] = [];
  manager.on("subscriberError", (error) => errors.push(error as Error));
  const server = environment.server(topology);
  const user = app.objectId;
  try {
    const client = await connectAdapter(
      adapter,
      topology,
      manager,
      server,
      (error) => errors.push(error),
      options,
    );
    return {
      ...client,
      label: label({ adapter, topology }),
      adapter,
      topology,
      app,
      user,
      source,
      manager,
      errors,
      connections: () => server.connections().filter((connection) => connection.user === user),
      killConnections: () => server.killConnections({ user }),
    };
  } catch (error) {
    await manager.dispose();
    throw error;
  }
}
