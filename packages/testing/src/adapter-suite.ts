import { randomUUID } from "node:crypto";
import {
  type CredentialSource,
  CredentialsError,
  CredentialsRejectedError,
  createTokenManager,
  credentialsFromJwt,
  type FetchReason,
  InsecureTransportError,
  InvalidOptionsError,
  markPermanent,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { createTokenIssuer, type TokenIssuer } from "./token-issuer";
import { startTokenRedis, type TokenRedis } from "./token-redis";

/*
 * The guarantees every client adapter (ioredis, node-redis, ...) must keep, as one suite that each
 * adapter's test file runs against its own client library, keyv-style. Every test starts its own
 * token-enforcing Redis (see startTokenRedis) and token manager, with tokens that live about 3 s,
 * so each test sees several rotations; it asserts on what the server saw (stats, connections) and
 * on command results, never on timings. Nothing here imports a test framework: the caller passes
 * its own `test` and `expect`.
 */

/** Registers one test: jest's, vitest's or node:test's `test` fits. */
export type SuiteTestFunction = (name: string, fn: () => Promise<void>, timeoutMs?: number) => void;

/**
 * The test framework's `test`. When it has `concurrent` (jest, vitest), the suite's tests run
 * concurrently (each on its own server); without it they run one by one, which takes minutes.
 */
export type SuiteTest = SuiteTestFunction & { concurrent?: SuiteTestFunction };

/** The test framework's `expect` (jest-compatible matchers: toBe, toEqual, toBeInstanceOf, ...). */
export type SuiteExpect = (actual: unknown) => any;

/** A RESP protocol version. */
export type RespVersion = 2 | 3;

/** Where a client connects. */
export interface SuiteTarget {
  /** Always a loopback address. */
  readonly host: string;
  readonly port: number;
  /** Whether the server speaks TLS. */
  readonly tls: boolean;
  /** With `tls`: the PEM of the CA to trust (the server certificate is for 127.0.0.1 and localhost). */
  readonly ca?: string;
}

/** How to connect one client. */
export interface SuiteConnectOptions {
  /** The RESP version to speak: one of the adapter's `protocols`. */
  readonly resp: RespVersion;
  /**
   * Pass this as the adapter's `allowInsecureTransport`. The suite sets it for plain-TCP servers,
   * except in the test that checks that tokens are refused over plain TCP without it.
   */
  readonly allowInsecureTransport: boolean;
  /** Report every `error` the client emits here, attached as early as the adapter allows. */
  readonly onError: (error: unknown) => void;
}

/** One connected client, as the suite drives it. */
export interface SuiteClient {
  /** Sends one command (`"SET", "key", "value"`); resolves with the reply, rejects with its error. */
  command(...args: string[]): Promise<unknown>;
  /**
   * Subscribes to `channel` (the client turns into a subscriber; the suite sends it no other
   * command afterwards). Resolves once Redis confirmed the subscription.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** Disconnects for good; must not reject. */
  close(): Promise<void>;
}

/** The adapter under test, as its test file describes it. */
export interface AdapterUnderTest {
  /** Prefixes every test name, e.g. `"ioredis 6"`. */
  readonly name: string;
  /** The RESP versions the client library supports (ioredis 5: `[2]`). */
  readonly protocols: readonly RespVersion[];
  /**
   * Connects one client bound to `manager`, the way a user of the adapter would. Resolves once
   * the client is ready; rejects with the adapter's error when it cannot connect.
   */
  connect(
    manager: TokenManager,
    target: SuiteTarget,
    options: SuiteConnectOptions,
  ): Promise<SuiteClient>;
}

export interface AdapterTestSuiteOptions {
  test: SuiteTest;
  expect: SuiteExpect;
  adapter: AdapterUnderTest;
  /**
   * Run the tests concurrently through `test.concurrent`.
   * @default true when `test.concurrent` exists
   */
  concurrent?: boolean;
}

/**
 * Tokens live this long and are refreshed halfway, so that a test sees a rotation about every
 * 2 s and each connection is re-AUTHed at least 1.6 s before its token expires: a CI machine can
 * stall a process (a garbage collection, a module loaded) for over a second.
 */
const SUITE_TOKEN_LIFETIME_MS = 4_000;

/** Manager options for tokens that live a few seconds: refresh 2 s before expiry, AUTHs spread over 200 ms. */
const SUITE_MANAGER_OPTIONS: TokenManagerOptions = {
  refreshBeforeExpiryMs: 2_000,
  minRefreshIntervalMs: 200,
  refreshJitterMs: 200,
  reauthSpreadMs: 200,
  retry: { initialDelayMs: 50, maxDelayMs: 500 },
};

const TEST_TIMEOUT_MS = 30_000;
const COMMAND_INTERVAL_MS = 100;
/** How long after a token's `exp` the server has surely closed connections still using it. */
const EXPIRY_MARGIN_MS = 300;
const CLIENTS_SHARING_A_MANAGER = 20;

/**
 * Registers the shared adapter tests (about 13 for an adapter with RESP2 and RESP3):
 *
 * - a client stays connected across 4 token rotations, RESP2 and RESP3, over TCP and TLS;
 * - reconnects authenticate with current credentials, never an expired token;
 * - a subscriber keeps receiving messages across rotations (none lost on RESP3);
 * - 20 clients sharing a manager cause one fetch per rotation;
 * - a source that fails for good makes connect reject with a `CredentialsError`;
 * - credentials Redis refuses surface as `CredentialsRejectedError`, without a fetch loop;
 * - without TLS, tokens are refused (`InsecureTransportError`) unless explicitly allowed.
 *
 * ```ts
 * adapterTestSuite({ test, expect, adapter: { name: "ioredis 6", protocols: [3, 2], connect } });
 * ```
 */
export function adapterTestSuite(options: AdapterTestSuiteOptions): void {
  const { test, expect, adapter } = options;
  const concurrent = options.concurrent ?? typeof test.concurrent === "function";
  const register: SuiteTestFunction =
    concurrent && test.concurrent ? test.concurrent.bind(test) : test;
  const protocols = [...adapter.protocols];
  if (protocols.length === 0 || protocols.some((resp) => resp !== 2 && resp !== 3)) {
    throw new InvalidOptionsError("adapter.protocols", "must list 2, 3 or both.");
  }
  const add = (name: string, run: (scope: Scope) => Promise<void>) =>
    register(`${adapter.name}: ${name}`, () => withScope(run), TEST_TIMEOUT_MS);
  const suite = { adapter, expect };

  for (const resp of protocols) {
    for (const tls of [false, true]) {
      add(
        `RESP${resp} over ${tls ? "TLS" : "TCP"}: a client stays connected across 4 rotations, every command succeeds`,
        (scope) => staysConnected(suite, scope, resp, tls),
      );
    }
  }
  for (const resp of protocols) {
    add(
      `RESP${resp}: reconnects authenticate with current credentials, never an expired token`,
      (scope) => reconnects(suite, scope, resp),
    );
  }
  for (const resp of protocols) {
    add(
      `RESP${resp}: a subscriber keeps receiving messages across rotations${resp === 3 ? ", none lost" : ""}`,
      (scope) => pubsub(suite, scope, resp),
    );
  }
  add(
    `${CLIENTS_SHARING_A_MANAGER} clients sharing one manager cause one fetch per rotation`,
    (scope) => sharedManager(suite, scope, protocols),
  );
  for (const resp of protocols) {
    add(
      `RESP${resp}: credentials Redis refuses surface as CredentialsRejectedError, with no fetch loop`,
      (scope) => refused(suite, scope, resp),
    );
  }
  add("a source that fails for good makes connect reject with a CredentialsError", (scope) =>
    permanentFailure(suite, scope, protocols[0]!),
  );
  add(
    "without TLS, connect refuses to send tokens (InsecureTransportError) and sends no AUTH",
    (scope) => insecureTransport(suite, scope, protocols[0]!),
  );
}

interface Suite {
  adapter: AdapterUnderTest;
  expect: SuiteExpect;
}

// --- the guarantees ---------------------------------------------------------------------------

/** a. Commands every 100 ms through 4 rotations: all succeed, on the one connection, re-AUTHed. */
async function staysConnected(
  { adapter, expect }: Suite,
  scope: Scope,
  resp: RespVersion,
  tls: boolean,
) {
  const server = await scope.server({ tls });
  const identity = scope.identity();
  const manager = scope.manager(identity.source());
  const rotations = new RotationLog(manager);
  const errors: unknown[] = [];
  const client = await scope.connect(adapter, manager, server, { resp, errors });

  expect(await respOf(client)).toBe(resp);
  const [first, ...others] = server.connections();
  expect(others).toEqual([]);
  const loop = commandLoop(client, "suite:stays-connected");
  await rotations.outlive(4);
  await loop.succeedsAgain();
  const { succeeded, failures } = await loop.stop();

  expect(failures).toEqual([]);
  expect(succeeded).toBeGreaterThan(0);
  const stats = server.stats();
  expect(stats.closedAtExpiry).toBe(0);
  expect(rotations.reasons()).toEqual(rotations.scheduledOnly());
  expect(stats.authRejected).toEqual({});
  // The same connection, authenticated once per credentials: the handshake and 4 re-AUTHs.
  const [last, ...more] = stats.perConnection;
  expect(more).toEqual([]);
  expect(last?.id).toBe(first?.id);
  expect(last?.user).toBe(identity.objectId);
  expect(last?.authSuccesses).toBeGreaterThanOrEqual(5);
  expect(errors.map(describeError)).toEqual([]);
}

/** b. Connections the server kills come back authenticated with the manager's current token. */
async function reconnects({ adapter, expect }: Suite, scope: Scope, resp: RespVersion) {
  const server = await scope.server({ tls: false });
  const identity = scope.identity();
  const manager = scope.manager(identity.source());
  const rotations = new RotationLog(manager);
  const client = await scope.connect(adapter, manager, server, { resp, errors: [] });

  const killAndRecover = async (round: number) => {
    const before = new Set(server.connections().map((connection) => connection.id));
    expect(server.killConnections()).toBe(1);
    await waitFor("the client reconnected and authenticated", 10_000, () =>
      server
        .connections()
        .some((connection) => !before.has(connection.id) && connection.authSuccesses > 0),
    );
    expect(server.connections().map((connection) => connection.user)).toEqual([identity.objectId]);
    const value = `round-${round}`;
    expect(await client.command("SET", "suite:reconnects", value)).toBe("OK");
    expect(String(await client.command("GET", "suite:reconnects"))).toBe(value);
  };

  // Once the first token has expired: a client that reconnects with it is refused.
  await rotations.outlive(1);
  await killAndRecover(1);
  // Right after a rotation, before every connection has heard of the new token.
  await rotations.until(3);
  await killAndRecover(2);
  // And the reconnected connection keeps being re-AUTHed: it outlives its token.
  const [reconnected] = server.connections();
  await rotations.outlive(3);
  expect(server.connections().map((connection) => connection.id)).toEqual([reconnected?.id]);

  const stats = server.stats();
  expect(stats.authRejected).toEqual({});
  expect(stats.closedAtExpiry).toBe(0);
  expect(rotations.reasons()).toEqual(rotations.scheduledOnly());
}

/** c. A subscriber across 3 rotations: messages keep arriving (RESP3: every one of them). */
async function pubsub({ adapter, expect }: Suite, scope: Scope, resp: RespVersion) {
  const server = await scope.server({ tls: false });
  const identity = scope.identity();
  const manager = scope.manager(identity.source());
  const rotations = new RotationLog(manager);
  const errors: unknown[] = [];
  const publisher = await scope.connect(adapter, manager, server, { resp, errors });
  const subscriber = await scope.connect(adapter, manager, server, { resp, errors });
  expect(await respOf(subscriber)).toBe(resp);

  const channel = "suite:pubsub";
  const received: number[] = [];
  await subscriber.subscribe(channel, (message) => received.push(Number(message)));
  /** When each message (by sequence number) was sent. */
  const sentAt: number[] = [];
  const published: number[] = [];
  const failures: string[] = [];
  let publishing = true;
  const loop = (async () => {
    while (publishing) {
      const sequence = sentAt.length;
      sentAt.push(Date.now());
      try {
        await publisher.command("PUBLISH", channel, String(sequence));
        published.push(sequence);
      } catch (error) {
        failures.push(describeError(error));
      }
      await sleep(COMMAND_INTERVAL_MS);
    }
  })();
  try {
    await rotations.outlive(3);
    const next = sentAt.length;
    await waitFor("a message published after the last rotation arrived", 10_000, () =>
      received.some((sequence) => sequence >= next),
    );
  } finally {
    publishing = false;
    await loop;
  }

  expect(failures).toEqual([]);
  if (resp === 3) {
    // The subscriber re-AUTHs in place: not one message is lost.
    await settle(
      waitFor("every message arrived", 5_000, () => received.length >= published.length),
    );
    expect(received).toEqual(published);
  } else {
    // The subscriber may reconnect at each rotation, losing what is published meanwhile; but
    // after each rotation, once the token it replaced has expired, messages arrive again.
    const expiries = rotations.received.map(({ expiresAt }) => expiresAt);
    const silent = [1, 2, 3].filter((rotation) => {
      const from = expiries[rotation - 1]!;
      const to = expiries[rotation] ?? Number.POSITIVE_INFINITY;
      return !received.some((sequence) => sentAt[sequence]! > from && sentAt[sequence]! < to);
    });
    expect(silent).toEqual([]);
  }
  const stats = server.stats();
  expect(stats.closedAtExpiry).toBe(0);
  expect(rotations.reasons()).toEqual(rotations.scheduledOnly());
  expect(stats.authRejected).toEqual({});
  expect(errors.map(describeError)).toEqual([]);
}

/** d. Every client on one manager: one fetch per rotation, however many connections. */
async function sharedManager({ adapter, expect }: Suite, scope: Scope, protocols: RespVersion[]) {
  const server = await scope.server({ tls: false });
  const identity = scope.identity();
  const manager = scope.manager(identity.source());
  const rotations = new RotationLog(manager);
  const errors: unknown[] = [];
  const clients = await Promise.all(
    Array.from({ length: CLIENTS_SHARING_A_MANAGER }, (_, index) =>
      scope.connect(adapter, manager, server, {
        resp: protocols[index % protocols.length]!,
        errors,
      }),
    ),
  );
  expect(server.stats().connectionsByUser).toEqual({
    [identity.objectId]: CLIENTS_SHARING_A_MANAGER,
  });
  const loops = clients.map((client, index) => commandLoop(client, `suite:shared:${index}`));
  await rotations.outlive(3);
  await Promise.all(loops.map((loop) => loop.succeedsAgain()));
  const results = await Promise.all(loops.map((loop) => loop.stop()));

  // Counters as they stood at each new credentials: exactly one fetch for each.
  expect(rotations.received.map(({ counters }) => counters)).toEqual(
    rotations.received.map((_, index) => ({
      fetches: index + 1,
      failures: 0,
      refreshes: index + 1,
    })),
  );
  expect(results.flatMap(({ failures }) => failures)).toEqual([]);
  const stats = server.stats();
  expect(stats.connectionsByUser).toEqual({ [identity.objectId]: CLIENTS_SHARING_A_MANAGER });
  expect(stats.closedAtExpiry).toBe(0);
  expect(rotations.reasons()).toEqual(rotations.scheduledOnly());
  expect(stats.authRejected).toEqual({});
  expect(errors.map(describeError)).toEqual([]);
}

/** f. Redis refuses what the source gives (a user name that is not the token's oid). */
async function refused({ adapter, expect }: Suite, scope: Scope, resp: RespVersion) {
  const server = await scope.server({ tls: false });
  const identity = scope.identity();
  const wrongUser = randomUUID();
  const tokens: string[] = [];
  let fetches = 0;
  const source: CredentialSource = {
    name: "suite-wrong-user",
    async fetch() {
      fetches += 1;
      // Long-lived: no scheduled refresh within the test, so every fetch is the adapter's doing.
      const token = identity.issuer.issueToken({ objectId: identity.objectId, lifetimeMs: 60_000 });
      tokens.push(token);
      return credentialsFromJwt(token, { username: wrongUser });
    },
  };
  const manager = scope.manager(source);
  const errors: unknown[] = [];
  const isTyped = (error: unknown) => error instanceof CredentialsRejectedError;
  let outcome: Settled<SuiteClient> | undefined;
  void settle(scope.connect(adapter, manager, server, { resp, errors })).then((settled) => {
    outcome = settled;
  });
  // Either way is fine: connect rejects, or the client (connected or still trying) reports it.
  await settle(
    waitFor("connect rejected or the client reported an error", 15_000, () =>
      outcome?.ok === false ? true : errors.some(isTyped),
    ),
  );
  // Long enough for a retry loop to show.
  await sleep(3_000);

  const reported = outcome?.ok === false ? [outcome.error, ...errors] : errors;
  expect(
    reported.map((error) => (isTyped(error) ? "CredentialsRejectedError" : describeError(error))),
  ).toContain("CredentialsRejectedError");
  const typed = reported.find(isTyped) as CredentialsRejectedError | undefined;
  expect(typed?.username).toBe(wrongUser);
  expect(typed?.source).toBe(source.name);
  for (const error of reported) {
    const message = error instanceof Error ? error.message : String(error);
    for (const token of tokens) expect(message.includes(token)).toBe(false);
  }
  // The first fetch and at most a couple of forced refreshes: no loop against the identity provider.
  expect(fetches).toBeGreaterThanOrEqual(1);
  expect(fetches).toBeLessThanOrEqual(3);
  const stats = server.stats();
  expect(stats.authSuccesses).toBe(0);
  expect(stats.authRejected.user ?? 0).toBeGreaterThanOrEqual(1);
}

/** e. The source fails for good before the first token: a typed rejection, nothing unhandled. */
async function permanentFailure({ adapter, expect }: Suite, scope: Scope, resp: RespVersion) {
  const server = await scope.server({ tls: false });
  let fetches = 0;
  const manager = scope.manager({
    name: "suite-broken-source",
    async fetch() {
      fetches += 1;
      throw markPermanent(new Error("The identity does not exist (adapter suite)."));
    },
  });
  const unhandled = scope.unhandledRejections();
  const errors: unknown[] = [];
  const outcome = await withDeadline(
    settle(scope.connect(adapter, manager, server, { resp, errors })),
    10_000,
    "connect to settle",
  );
  // A stray rejection from the failed connect has time to surface.
  await sleep(500);

  expect(outcome.ok ? "connected" : "rejected").toBe("rejected");
  if (!outcome.ok) {
    expect(outcome.error).toBeInstanceOf(CredentialsError);
    // It says why: the source's own error is its message or (with its cause) in its cause chain.
    expect(causeChain(outcome.error)).toContain("The identity does not exist (adapter suite).");
  }
  expect(unhandled.map(describeError)).toEqual([]);
  expect(fetches).toBeLessThanOrEqual(3);
  expect(server.stats().authAttempts).toBe(0);
}

/** g. Plain TCP without allowInsecureTransport: no token leaves the process. */
async function insecureTransport({ adapter, expect }: Suite, scope: Scope, resp: RespVersion) {
  const server = await scope.server({ tls: false });
  const identity = scope.identity();
  const manager = scope.manager(identity.source());
  const errors: unknown[] = [];
  const outcome = await withDeadline(
    settle(scope.connect(adapter, manager, server, { resp, errors, insecure: true })),
    10_000,
    "connect to settle",
  );
  await sleep(300);

  expect(outcome.ok ? "connected" : "rejected").toBe("rejected");
  if (!outcome.ok) expect(outcome.error).toBeInstanceOf(InsecureTransportError);
  expect(server.stats().authAttempts).toBe(0);
}

// --- fixtures ---------------------------------------------------------------------------------

let sharedIssuer: TokenIssuer | undefined;
/** One RSA key for the whole suite (each test has its own object id): key generation is slow. */
const issuer = () => {
  sharedIssuer ??= createTokenIssuer();
  return sharedIssuer;
};

interface Identity {
  issuer: TokenIssuer;
  objectId: string;
  /** A source of tokens for `objectId` living SUITE_TOKEN_LIFETIME_MS. */
  source(): CredentialSource;
}

/**
 * Everything one test starts, stopped in `finally`: clients, then managers, then servers. A client
 * whose connect resolves after that is closed at once.
 */
class Scope {
  readonly #clients: SuiteClient[] = [];
  readonly #connecting = new Set<Promise<unknown>>();
  #closed = false;
  readonly #managers: TokenManager[] = [];
  readonly #servers: TokenRedis[] = [];
  readonly #cleanups: (() => void)[] = [];

  async server(options: { tls: boolean }): Promise<TokenRedis> {
    const server = await startTokenRedis({ identity: issuer(), tls: options.tls });
    this.#servers.push(server);
    return server;
  }

  identity(): Identity {
    const objectId = randomUUID();
    return {
      issuer: issuer(),
      objectId,
      source: () => ({
        name: "suite-issuer",
        fetch: async () =>
          credentialsFromJwt(
            issuer().issueToken({ objectId, lifetimeMs: SUITE_TOKEN_LIFETIME_MS }),
          ),
      }),
    };
  }

  manager(source: CredentialSource): TokenManager {
    const manager = createTokenManager(source, SUITE_MANAGER_OPTIONS);
    this.#managers.push(manager);
    return manager;
  }

  /** Connects through the adapter; errors the client emits land in `errors`. */
  async connect(
    adapter: AdapterUnderTest,
    manager: TokenManager,
    server: TokenRedis,
    options: { resp: RespVersion; errors: unknown[]; insecure?: boolean },
  ): Promise<SuiteClient> {
    const tls = server.ca !== undefined;
    const target: SuiteTarget = {
      host: server.host,
      port: server.port,
      tls,
      ...(server.ca !== undefined && { ca: server.ca }),
    };
    const connecting = adapter.connect(manager, target, {
      resp: options.resp,
      allowInsecureTransport: !tls && options.insecure !== true,
      onError: (error) => options.errors.push(error),
    });
    this.#connecting.add(connecting);
    try {
      const client = await connecting;
      if (this.#closed) void client.close().catch(() => {});
      else this.#clients.push(client);
      return client;
    } finally {
      this.#connecting.delete(connecting);
    }
  }

  /** Collects unhandled rejections until the test ends (jest's setup may also fail on them). */
  unhandledRejections(): unknown[] {
    const seen: unknown[] = [];
    const listener = (reason: unknown) => seen.push(reason);
    process.on("unhandledRejection", listener);
    this.#cleanups.push(() => process.off("unhandledRejection", listener));
    return seen;
  }

  async close(): Promise<void> {
    const bounded = (promise: Promise<unknown>) =>
      withDeadline(Promise.resolve(promise), 5_000, "cleanup").catch(() => {});
    // Connects still running get a chance to finish, so their clients are closed with the rest.
    await Promise.all([...this.#connecting].map(bounded));
    this.#closed = true;
    await Promise.all(this.#clients.map((client) => bounded(client.close())));
    await Promise.all(this.#managers.map((manager) => bounded(manager.dispose())));
    await Promise.all(this.#servers.map((server) => bounded(server.stop())));
    for (const cleanup of this.#cleanups) cleanup();
  }
}

async function withScope(run: (scope: Scope) => Promise<void>): Promise<void> {
  const scope = new Scope();
  try {
    await run(scope);
  } finally {
    await scope.close();
  }
}

interface Received {
  /** Why the manager fetched them: a healthy adapter never forces a refresh. */
  reason: FetchReason;
  expiresAt: number;
  /** The manager's counters when these credentials arrived. */
  counters: { fetches: number; failures: number; refreshes: number };
}

/** Every set of credentials a manager handed out, the first included. */
class RotationLog {
  readonly received: Received[] = [];

  constructor(private readonly manager: TokenManager) {
    manager.on("refreshed", (event) => {
      const { fetches, failures, refreshes } = manager.status().counters;
      this.received.push({
        reason: event.reason,
        expiresAt: event.expiresAt,
        counters: { fetches, failures, refreshes },
      });
    });
  }

  /** Why each set of credentials was fetched: `initial`, then one `scheduled` per rotation. */
  reasons(): FetchReason[] {
    return this.received.map(({ reason }) => reason);
  }

  /** What `reasons()` is when the adapter never forced a refresh. */
  scheduledOnly(): FetchReason[] {
    return this.received.map((_, index) => (index === 0 ? "initial" : "scheduled"));
  }

  /** Waits until the manager has handed out `count` credentials (the first included). */
  until(count: number): Promise<void> {
    return waitFor(
      `${count - 1} rotations of ${this.manager.name}`,
      count * 4_000,
      () => this.received.length >= count,
    );
  }

  /**
   * Waits for `rotations` rotations and for the credentials they replaced to expire: a connection
   * alive now has outlived `rotations` tokens.
   */
  async outlive(rotations: number): Promise<void> {
    await this.until(rotations + 1);
    const replaced = this.received[rotations - 1]!;
    await sleep(replaced.expiresAt + EXPIRY_MARGIN_MS - Date.now());
  }
}

/** SET then GET on `key` every 100 ms, each checked; never throws. */
function commandLoop(client: SuiteClient, key: string) {
  let running = true;
  let succeeded = 0;
  const failures: string[] = [];
  const done = (async () => {
    for (let round = 0; running; round++) {
      const value = String(round);
      try {
        const set = await client.command("SET", key, value);
        const get = await client.command("GET", key);
        if (set !== "OK" || String(get) !== value) {
          failures.push(`SET/GET ${value} replied ${describeValue(set)}/${describeValue(get)}`);
        } else {
          succeeded += 1;
        }
      } catch (error) {
        failures.push(describeError(error));
      }
      await sleep(COMMAND_INTERVAL_MS);
    }
  })();
  return {
    /** Resolves after two more rounds succeeded (or failed, which `stop` reports). */
    async succeedsAgain() {
      const target = succeeded + failures.length + 2;
      await waitFor(
        `2 more commands on ${key}`,
        10_000,
        () => succeeded + failures.length >= target,
      );
    },
    async stop() {
      running = false;
      await done;
      return { succeeded, failures };
    },
  };
}

/** The RESP version the client's connection speaks, from CLIENT INFO. */
async function respOf(client: SuiteClient): Promise<number | string> {
  const info = String(await client.command("CLIENT", "INFO"));
  const match = /\bresp=(\d)/.exec(info);
  return match ? Number(match[1]) : `no resp= in CLIENT INFO: ${info.slice(0, 100)}`;
}

// --- small helpers ----------------------------------------------------------------------------

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Polls `condition` every 25 ms; rejects, naming what it waited for, after `timeoutMs`. */
async function waitFor(what: string, timeoutMs: number, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}.`);
    await sleep(25);
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}.`)),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The messages of `error` and of its causes, outermost first. */
function causeChain(error: unknown): string[] {
  const messages: string[] = [];
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    messages.push(current.message);
    current = current.cause;
  }
  return messages;
}

const JWT = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

/** An error as a short line for assertion output; anything shaped like a JWT is masked. */
function describeError(error: unknown): string {
  const text =
    error instanceof Error ? `${error.constructor.name}: ${error.message}` : describeValue(error);
  return text.replace(JWT, "<token>").slice(0, 300);
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.replace(JWT, "<token>"));
  if (Buffer.isBuffer(value)) return describeValue(value.toString("utf8"));
  try {
    return String(JSON.stringify(value)).replace(JWT, "<token>").slice(0, 300);
  } catch {
    return typeof value;
  }
}
