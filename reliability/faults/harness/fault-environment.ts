import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
  type TokenVerifier,
  type VerifierResult,
} from "@redis-credentials/testing";
import { oncePerFile } from "./once-per-file";

/** The two shapes every fault case runs against. */
export type Topology = "standalone" | "cluster";
export const TOPOLOGIES: readonly Topology[] = ["standalone", "cluster"];

/**
 * What a fault file runs against: one identity emulator (tokens over HTTPS from its token
 * endpoint, so its `faults` apply) and one token-enforcing Redis per topology, all trusting the
 * emulator's keys through a verifier that can revoke single tokens.
 */
export interface FaultEnvironment {
  readonly idp: IdentityEmulator;
  /** The token-enforcing Redis of `topology` (the cluster: 3 masters, no replicas). */
  server(topology: Topology): TokenRedis;
  /**
   * From now on Redis refuses `token` (WRONGPASS, counted in `authRejected.revoked`) although it
   * is still valid, as a server does once the token was revoked. Never logged.
   */
  revoke(token: string): void;
  /**
   * Every AUTH (and HELLO ... AUTH) either server checked, in order: who, how long the token had
   * left then, whether the connection was authenticated before (a re-AUTH, not a handshake), and
   * whether it was accepted. Never the token.
   */
  auths(): readonly AuthRecord[];
  /** Stops both servers and the emulator. Idempotent. */
  stop(): Promise<void>;
}

/** One AUTH a server checked. */
export interface AuthRecord {
  /** Date.now() when the server checked it. */
  readonly at: number;
  /** The AUTH user name (a client's `user`). */
  readonly user: string;
  /** The token's `exp` (ms) minus `at`; NaN for a token that could not be read. */
  readonly remainingMs: number;
  /** The connection had authenticated before: a re-AUTH on a live connection. */
  readonly reauth: boolean;
  /** Accepted, or the reason it was refused (`expired`, `revoked`, ...). */
  readonly outcome: "ok" | string;
}

export interface FaultEnvironmentOptions {
  /** Topologies to start. @default both */
  topologies?: readonly Topology[];
}

/** Starts the emulator and the servers (plain TCP: clients pass allowInsecureTransport). */
export async function startFaultEnvironment(
  options: FaultEnvironmentOptions = {},
): Promise<FaultEnvironment> {
  const idp = await startIdentityEmulator({ tokenLifetimeMs: 3_000 });
  const revoked = new Set<string>();
  const auths: AuthRecord[] = [];
  const identity: TokenVerifier = {
    verifyToken(token, check): VerifierResult {
      const at = Date.now();
      const result: VerifierResult = revoked.has(token)
        ? { ok: false, reason: "revoked" }
        : idp.verifyToken(token, check?.user === undefined ? {} : { user: check.user });
      auths.push({
        at,
        user: check?.user ?? "default",
        remainingMs: expiryOf(token) - at,
        reauth: check?.authenticated === true,
        outcome: result.ok ? "ok" : result.reason,
      });
      return result;
    },
  };
  const servers = new Map<Topology, TokenRedis>();
  try {
    await Promise.all(
      (options.topologies ?? TOPOLOGIES).map(async (topology) => {
        const server = await startTokenRedis({
          identity,
          tls: false,
          ...(topology === "cluster" && { cluster: { masters: 3 } }),
        });
        servers.set(topology, server);
      }),
    );
  } catch (error) {
    await Promise.all([...servers.values()].map((server) => server.stop()));
    await idp.stop();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    idp,
    server(topology) {
      const server = servers.get(topology);
      if (server === undefined) throw new Error(`no ${topology} server was started`);
      return server;
    },
    revoke: (token) => void revoked.add(token),
    auths: () => auths,
    stop() {
      stopped ??= (async () => {
        await Promise.all([...servers.values()].map((server) => server.stop()));
        await idp.stop();
      })();
      return stopped;
    },
  };
}

/**
 * Starts the environment once for the file (beforeAll) and stops it after (afterAll); returns
 * a getter for the tests.
 */
export function faultEnvironmentBeforeAll(
  options: FaultEnvironmentOptions = {},
): () => FaultEnvironment {
  return oncePerFile(() => startFaultEnvironment(options), "the fault environment", 60_000);
}

/** A JWT's `exp` in ms, NaN when it has none. */
function expiryOf(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
    return typeof payload.exp === "number" ? payload.exp * 1000 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
