import { InsecureTransportError } from "@redis-credentials/core";
import {
  type IdentityEmulator,
  startIdentityEmulator,
  type TokenRedis,
} from "@redis-credentials/testing";
import { type JunkServer, startJunkServer } from "./bad-input-servers";
import { type Connected, type PlaintextTarget, plaintextAdapters } from "./plaintext-adapters";
import { MODES, type Mode, type ModeName, startModes, targetOf } from "./plaintext-modes";

/*
 * Tokens are refused over plaintext by default in every adapter and mode: each adapter entry
 * point (ioredis and iovalkey Redis, Cluster and sentinel-found Redis; node-redis client, pool,
 * cluster and sentinel; GLIDE client and cluster client), given each kind of credential source
 * (Entra ID, AWS IAM, GCP IAM, a custom source), connecting without TLS fails with
 * InsecureTransportError, and a TCP server standing in for Redis, recording every byte, gets no
 * AUTH and no token. The documented opt-in, `allowInsecureTransport: true`, makes the same entry
 * point connect to a token-enforcing Redis without TLS, which accepts the token.
 */

const BOUND_MS = 10_000;

let idp: IdentityEmulator;
let recorder: JunkServer;
let modes: Record<ModeName, Mode>;

beforeAll(async () => {
  idp = await startIdentityEmulator();
  recorder = await startJunkServer("silent");
  modes = await startModes(idp);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(modes ?? {}).map((mode) => mode.manager.dispose()));
  const servers = new Set<TokenRedis>(
    Object.values(modes ?? {}).flatMap((mode) => Object.values(mode.servers)),
  );
  await Promise.allSettled([...servers].map((server) => server.stop()));
  await recorder?.stop();
  await idp?.stop();
});

/** The outcome of `connect`, bounded; a client that connected is closed at once. */
async function attempt(connect: () => Promise<Connected>) {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<{ kind: "hung" }>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "hung" }), BOUND_MS);
  });
  let connecting: Promise<Connected>;
  try {
    connecting = connect();
  } catch (error) {
    return { kind: "threw" as const, error };
  }
  const outcome = await Promise.race([
    connecting.then(
      (client) => ({ kind: "connected" as const, client }),
      (error: unknown) => ({ kind: "threw" as const, error }),
    ),
    bound,
  ]);
  clearTimeout(timer);
  if (outcome.kind === "hung")
    void connecting.then(
      (client) => client.close(),
      () => {},
    );
  if (outcome.kind === "connected") await outcome.client.close();
  return outcome;
}

const rows = Object.keys(plaintextAdapters).flatMap((adapter) =>
  MODES.map((mode) => [adapter, mode] as [string, ModeName]),
);

describe("without TLS and without the opt-in: refused, and nothing reaches the server", () => {
  test.each(rows)("%s with %s credentials", async (name, modeName) => {
    const adapter = plaintextAdapters[name]!;
    const mode = modes[modeName];
    recorder.reset();
    const target: PlaintextTarget = {
      host: recorder.host,
      port: recorder.port,
      nodes: [{ host: recorder.host, port: recorder.port }],
      sentinels: [{ host: recorder.host, port: recorder.port }],
      masterName: "mymaster",
    };
    const outcome = await attempt(() => adapter.connect(target, mode.manager, false));
    const error = outcome.kind === "threw" ? (outcome.error as Error) : undefined;
    expect({ outcome: outcome.kind, name: error?.name, message: error?.message }).toEqual({
      outcome: "threw",
      name: "InsecureTransportError",
      message: expect.stringMatching(/without TLS[\s\S]*allowInsecureTransport: true/),
    });
    expect(error).toBeInstanceOf(InsecureTransportError);
    // Nothing of the credentials reached the wire: no AUTH or HELLO ... AUTH, no token.
    const received = recorder.received();
    expect(received).not.toMatch(/AUTH/i);
    const token = mode.manager.peekCredentials()?.password;
    if (token !== undefined) expect(received).not.toContain(token);
  });
});

describe("with allowInsecureTransport: true: connects, and Redis accepts the token", () => {
  test.each(rows)("%s with %s credentials", async (name, modeName) => {
    const adapter = plaintextAdapters[name]!;
    const mode = modes[modeName];
    const server = mode.servers[adapter.deployment];
    const before = server.stats().authSuccesses;
    let commandResult: unknown;
    let liveAsUser = 0;
    const outcome = await attempt(async () => {
      const client = await adapter.connect(targetOf(server), mode.manager, true);
      try {
        commandResult = await client.command();
        liveAsUser = server.stats().connectionsByUser[mode.user] ?? 0;
      } catch (error) {
        await client.close();
        throw error;
      }
      return client;
    });
    expect({
      outcome: outcome.kind,
      error: outcome.kind === "threw" ? String(outcome.error) : undefined,
    }).toEqual({ outcome: "connected", error: undefined });
    expect(["PONG", "OK"]).toContain(commandResult);
    // The server accepted the token: a connection authenticated as this mode's user.
    expect(server.stats().authSuccesses).toBeGreaterThan(before);
    expect(liveAsUser).toBeGreaterThan(0);
  });
});
