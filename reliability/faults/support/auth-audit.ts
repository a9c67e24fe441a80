import { decodeJwtClaims } from "@redis-credentials/core";
import type { TokenRedis, TokenVerifier, VerifierResult } from "@redis-credentials/testing";
import type { AuthRecord } from "../harness";

/*
 * What the token-enforcing server did to one identity's connections. The server's own counters
 * (authRejected, closedAtExpiry) add up every client, and the fault tests run every adapter and
 * topology at once, each under an identity of its own: a failure must say which client it was.
 */

/** AUTHs and closes at expiry of one user (a token's `oid`). */
export interface UserAudit {
  /** AUTHs (and HELLO ... AUTH) the server accepted. */
  accepted: number;
  /** AUTHs refused, by the verifier's reason (`expired`, `signature`, ...). */
  rejected: Record<string, number>;
  /** Live connections the server closed because the token they held had expired. */
  closedAtExpiry: number;
  /**
   * Of those, connections that had authenticated once, when they opened, and were never
   * re-authenticated: connections a client opened and then left off its rotations.
   */
  closedAtExpiryNeverReauthenticated: number;
}

export interface AuthAudit {
  /** Hand this to startTokenRedis as `identity`: it verifies with `inner` and counts per user. */
  readonly verifier: TokenVerifier;
  /** Watches `server`'s connections (every 20 ms) to attribute its closes at expiry to users. */
  watch(server: TokenRedis): void;
  /** Every AUTH checked, in order, as the harness's `FaultEnvironment.auths()` lists them. */
  records(): readonly AuthRecord[];
  /** What happened to `user` so far (a copy). */
  of(user: string): UserAudit;
  /** Stops watching. */
  stop(): void;
}

const WATCH_INTERVAL_MS = 20;

export function createAuthAudit(inner: TokenVerifier): AuthAudit {
  const users = new Map<string, UserAudit>();
  const entry = (user: string) => {
    let audit = users.get(user);
    if (audit === undefined) {
      audit = {
        accepted: 0,
        rejected: {},
        closedAtExpiry: 0,
        closedAtExpiryNeverReauthenticated: 0,
      };
      users.set(user, audit);
    }
    return audit;
  };
  const watchers: NodeJS.Timeout[] = [];
  const records: AuthRecord[] = [];
  return {
    verifier: {
      verifyToken(token, options) {
        const at = Date.now();
        const result: VerifierResult = inner.verifyToken(token, options);
        records.push({
          at,
          user: options?.user ?? "default",
          remainingMs: expiryOf(token) - at,
          reauth: options?.authenticated === true,
          outcome: result.ok ? "ok" : result.reason,
        });
        // A refused token names its user in its claims when it has any (an expired one does).
        const user = result.ok ? result.claims.oid : oidOf(token);
        if (user === undefined) return result;
        const audit = entry(user);
        if (result.ok) audit.accepted++;
        else audit.rejected[result.reason] = (audit.rejected[result.reason] ?? 0) + 1;
        return result;
      },
    },
    watch(server) {
      // The proxy closes a connection at its deadline (the token's expiry) and at no other
      // moment of its own: a connection gone once its deadline has passed was closed at expiry.
      // (A kill or a restart of a connection whose token was about to expire cannot be told
      // apart, but such a connection was one the client had let run out anyway.)
      type Seen = { user: string | undefined; expiresAt: number | undefined; auths: number };
      let known = new Map<number, Seen>();
      const poll = () => {
        const now = Date.now();
        const live = new Map(
          server
            .connections()
            .map((c) => [c.id, { user: c.user, expiresAt: c.expiresAt, auths: c.authSuccesses }]),
        );
        for (const [id, was] of known) {
          if (live.has(id) || was.user === undefined || was.expiresAt === undefined) continue;
          if (was.expiresAt > now) continue;
          const audit = entry(was.user);
          audit.closedAtExpiry++;
          if (was.auths <= 1) audit.closedAtExpiryNeverReauthenticated++;
        }
        known = live;
      };
      poll();
      const timer = setInterval(poll, WATCH_INTERVAL_MS);
      timer.unref();
      watchers.push(timer);
    },
    records: () => records,
    of(user) {
      const audit = entry(user);
      return { ...audit, rejected: { ...audit.rejected } };
    },
    stop() {
      for (const timer of watchers) clearInterval(timer);
      watchers.length = 0;
    },
  };
}

function oidOf(token: string): string | undefined {
  try {
    const { oid } = decodeJwtClaims(token) as { oid?: unknown };
    return typeof oid === "string" ? oid : undefined;
  } catch {
    return undefined;
  }
}

/** A JWT's `exp` in ms, NaN when it has none. */
function expiryOf(token: string): number {
  try {
    const { exp } = decodeJwtClaims(token);
    return typeof exp === "number" ? exp * 1_000 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
