import {
  type CredentialSource,
  createTokenManager,
  type RedisCredentials,
  staticCredentials,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { SECRET } from "./bad-input-row";

/**
 * What the rows' entry points need — a live token manager, a disposed one, a manager over a
 * misbehaving source — each closed after its row by `cleanUp()`.
 */
export class BadInputContext {
  readonly #cleanups: (() => unknown)[] = [];

  /** Runs `close` after the current row. */
  track<T>(value: T, close: (value: T) => unknown): T {
    this.#cleanups.push(() => close(value));
    return value;
  }

  /** A live manager whose credentials carry {@link SECRET}. */
  manager(source: CredentialSource = staticCredentials({ password: SECRET })): TokenManager {
    return this.track(createTokenManager(source), (manager) => manager.dispose());
  }

  /** A manager that was disposed. */
  disposedManager(): TokenManager {
    const manager = createTokenManager(staticCredentials({ password: SECRET }));
    void manager.dispose();
    return manager;
  }

  /** The first fetch of a manager over `source`: short timeouts, so that a hang shows in time. */
  firstFetch(
    source: CredentialSource,
    options: TokenManagerOptions = { fetchTimeoutMs: 300 },
  ): Promise<RedisCredentials> {
    const manager = this.track(createTokenManager(source, options), (it) => it.dispose());
    return manager.getCredentials();
  }

  /** A source named `name` whose fetch is `fetch`. */
  source(fetch: () => unknown, name = "garbage"): CredentialSource {
    return { name, fetch: fetch as CredentialSource["fetch"] };
  }

  async cleanUp(): Promise<void> {
    const cleanups = this.#cleanups.splice(0);
    await Promise.allSettled(cleanups.map(async (cleanup) => cleanup()));
  }
}

/** A promise that never settles, as a hung identity provider gives. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/** A JWT-shaped token (unsigned) with `claims`; the SDK only decodes it. */
export function jwtWith(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.${Buffer.from(SECRET).toString("base64url")}`;
}
