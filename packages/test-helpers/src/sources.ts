import {
  type CredentialSource,
  createTokenManager,
  credentialsFromJwt,
  type FetchReason,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { type Fixture, fastRotation, TOKEN_LIFETIME_MS } from "./fixture";

/** What a {@link SwitchableSource} hands out: good tokens, valid tokens for another user, or errors. */
export type SourceMode = "ok" | "wrong-user" | "wrong-once" | "fail";

/** A source for the fixture's identity whose behaviour a test switches while clients run. */
export interface SwitchableSource extends CredentialSource {
  /** `wrong-once`: the next fetch names the wrong user, then the mode turns back to `ok`. */
  mode: SourceMode;
  /** The reason of every fetch, in order. */
  readonly fetches: FetchReason[];
  /** Fetches with this reason (all of them without one). */
  count(reason?: FetchReason): number;
}

/** The user name Redis does not know: the token verifies, the proxy answers WRONGPASS. */
export const WRONG_USER = "00000000-0000-4000-8000-0000deadbeef";

export function switchableSource(
  fixture: Fixture,
  mode: SourceMode = "ok",
  lifetimeMs = TOKEN_LIFETIME_MS,
): SwitchableSource {
  const fetches: FetchReason[] = [];
  return {
    name: "switchable-issuer",
    mode,
    fetches,
    count: (reason) => fetches.filter((each) => reason === undefined || each === reason).length,
    async fetch({ reason }) {
      fetches.push(reason);
      if (this.mode === "fail") throw new Error("the identity provider is down (test)");
      const wrong = this.mode !== "ok";
      if (this.mode === "wrong-once") this.mode = "ok";
      const token = fixture.issuer.issueToken({ objectId: fixture.objectId, lifetimeMs });
      return credentialsFromJwt(token, wrong ? { username: WRONG_USER } : {});
    },
  };
}

/** A fast-rotating manager for `source`; the caller disposes it. */
export function managerFor(source: CredentialSource, options: TokenManagerOptions = {}) {
  return createTokenManager(source, { ...fastRotation, ...options });
}

/** A manager of tokens for another identity (`objectId`) than the fixture's own, on its issuer. */
export function otherIdentity(
  fixture: Fixture,
  objectId: string,
  lifetimeMs = TOKEN_LIFETIME_MS,
): TokenManager {
  return managerFor({
    name: `user-${objectId.slice(-4)}`,
    fetch: async () => credentialsFromJwt(fixture.issuer.issueToken({ objectId, lifetimeMs })),
  });
}
