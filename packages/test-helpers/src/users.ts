import { randomUUID } from "node:crypto";
import {
  createTokenManager,
  credentialsFromJwt,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import type { TokenIssuer } from "@redis-credentials/testing";
import { fastRotation, TOKEN_LIFETIME_MS } from "./fixture";

/**
 * Managers for users of their own (one object id each), so that tests sharing a server can tell
 * their connections apart (`connections().filter(c => c.user === user)`) and kill only theirs.
 */
export class Users {
  readonly #managers: TokenManager[] = [];

  constructor(private readonly issuer: TokenIssuer) {}

  /** A new user and a manager of its tokens (fast rotation unless `options` says otherwise). */
  create(options: TokenManagerOptions & { lifetimeMs?: number } = {}): {
    user: string;
    manager: TokenManager;
  } {
    const { lifetimeMs = TOKEN_LIFETIME_MS, ...managerOptions } = options;
    const user = randomUUID();
    const manager = createTokenManager(
      {
        name: `user-${user.slice(0, 8)}`,
        fetch: async () =>
          credentialsFromJwt(this.issuer.issueToken({ objectId: user, lifetimeMs })),
      },
      { ...fastRotation, ...managerOptions },
    );
    this.#managers.push(manager);
    return { user, manager };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#managers.splice(0).map((manager) => manager.dispose()));
  }
}
