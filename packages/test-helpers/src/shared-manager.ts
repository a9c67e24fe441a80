import {
  type CredentialSource,
  createTokenManager,
  credentialsFromJwt,
  type FetchReason,
} from "@redis-credentials/core";
import type { ConnectionStats } from "@redis-credentials/testing";
import { expectNoErrors } from "./errors";
import { type Fixture, fastRotation } from "./fixture";
import {
  authsBetween,
  connectionsOf,
  expectCleanServer,
  snapshot,
  untilAllHoldCurrentToken,
} from "./server";
import { WRONG_USER } from "./sources";
import { rotations } from "./waiting";

/*
 * One token manager shared by many connections, whichever client library made them: a manager
 * that counts its source's fetches, and the check that over several rotations it fetched once per
 * rotation in all while every connection was re-authenticated once per rotation.
 */

/** How many rotations `acrossRotations` counts. */
export const ROTATIONS = 4;
/**
 * A rotation about every 2 s, as with the other suites' tokens, but tokens that live 4 s and are
 * renewed 2 s before they expire: with hundreds of connections and their proxy in one process
 * (245 when every shared-manager test ran in one file), a loaded machine was seen to stall its
 * event loop for more than the 1 s margin of 3-s tokens (the manager still spreads each
 * rotation's AUTHs over 200 ms, long before the old token expires).
 */
export const TOKENS = { lifetimeMs: 4_000, refreshBeforeExpiryMs: 2_000 };

/**
 * A fast-rotating manager over the fixture's source that counts the source's fetches itself,
 * with the reason of each, and how many had been made at each rotation. With `refuseFirst`, the
 * first credentials name a user Redis does not know (as after a misconfiguration fixed since):
 * Redis refuses them, and every later fetch gives good ones.
 */
export function countingManager(fixture: Fixture, options: { refuseFirst?: boolean } = {}) {
  const reasons: FetchReason[] = [];
  const counting: CredentialSource = {
    name: "counting-issuer",
    fetch: async (context) => {
      reasons.push(context.reason);
      const token = fixture.issuer.issueToken({
        objectId: fixture.objectId,
        lifetimeMs: TOKENS.lifetimeMs,
      });
      const refused = options.refuseFirst === true && reasons.length === 1;
      return credentialsFromJwt(token, refused ? { username: WRONG_USER } : {});
    },
  };
  const manager = createTokenManager(counting, {
    ...fastRotation,
    refreshBeforeExpiryMs: TOKENS.refreshBeforeExpiryMs,
  });
  const refreshedAt: number[] = [];
  const fetchesAtRefresh: number[] = [];
  manager.on("refreshed", () => {
    refreshedAt.push(Date.now());
    fetchesAtRefresh.push(reasons.length);
  });
  return { manager, reasons, refreshedAt, fetchesAtRefresh };
}

/**
 * Runs ROTATIONS rotations (after a first one, so that counting starts at a quiet moment), using
 * every connection after each, and checks what a shared manager must give: one source fetch per
 * rotation in all, and exactly one AUTH per rotation on every connection, all of them the same
 * connections from start to end.
 */
export async function acrossRotations(options: {
  fixture: Fixture;
  counting: ReturnType<typeof countingManager>;
  connections: number;
  useEveryConnection: () => Promise<unknown>;
  /** Called at every poll of the server's connections, for the AUTH timeline. */
  onPoll?: (connections: ConnectionStats[], now: number) => void;
}) {
  const { fixture } = options;
  const { manager, reasons, refreshedAt, fetchesAtRefresh } = options.counting;
  const ours = () => connectionsOf(fixture.server, fixture.objectId);
  expect(ours()).toHaveLength(options.connections);
  const errors: unknown[] = [];
  const use = () => options.useEveryConnection().catch((error) => errors.push(error));
  await use();
  const poller = options.onPoll && setInterval(() => options.onPoll!(ours(), Date.now()), 5);
  try {
    const settled = () =>
      untilAllHoldCurrentToken(fixture.server, fixture.objectId, manager, options.connections);
    await rotations(manager, 1);
    const before = snapshot(await settled());
    const counted = refreshedAt.length;
    for (let rotation = 0; rotation < ROTATIONS; rotation++) {
      await rotations(manager, 1);
      await use();
    }
    const after = await settled();
    // Rotations between the two quiet moments (more than ROTATIONS if a wait outlasted one).
    const rotated = refreshedAt.length - counted;

    expectNoErrors(errors);
    expect(rotated).toBeGreaterThanOrEqual(ROTATIONS);
    // At the n-th new credentials, the source had been asked n times: the first credentials,
    // then one scheduled refresh per rotation, for every connection together.
    expect(fetchesAtRefresh).toEqual(fetchesAtRefresh.map((_, index) => index + 1));
    expect(reasons).toEqual(["initial", ...Array(reasons.length - 1).fill("scheduled")]);
    // At most the next one in flight.
    expect(reasons.length - refreshedAt.length).toBeLessThanOrEqual(1);
    expect(manager.status().counters).toMatchObject({
      failures: 0,
      subscribers: options.connections,
    });
    // Every connection lived through every rotation and was re-authenticated exactly once each time.
    expect(after).toHaveLength(options.connections);
    const auths = authsBetween(before, after);
    const unexpected = auths.filter(
      (auth) => !auth.survived || auth.attempts !== rotated || auth.successes !== rotated,
    );
    expect(unexpected).toEqual([]);
    expectCleanServer(fixture.server);
    return { refreshedAt: refreshedAt.slice(counted) };
  } finally {
    clearInterval(poller);
  }
}
