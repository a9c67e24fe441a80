import type { CredentialsBinding } from "./credentials-binding";
import type { CredentialsBindingStatus } from "./credentials-binding-status";
import { InsecureTransportError, InvalidOptionsError } from "./errors";
import type { RedisCredentials, TokenManager } from "./types";

let nextGroupId = 1;

/** What the group needs of a session: `new ConnectionSession(group, port)` makes them. */
interface GroupMember {
  dispose(): void;
}

/**
 * The connections of one binding (one client with its nodes, subscribers and copies, or one
 * node-redis provider) that share a token manager: their sessions, their counters, and how the
 * binding is undone. Adapters create one per binding and one session per connection.
 */
export class SessionGroup implements CredentialsBinding {
  readonly manager: TokenManager;
  /** A process-unique id of the bound client: the `client` of its `redis-credentials:reauth` messages. */
  readonly id = nextGroupId++;
  /** Sessions listening to the manager (connecting or connected). */
  readonly #live = new Set<GroupMember>();
  /** Sessions not ended, which `dispose()` must reach. */
  readonly #sessions = new Set<GroupMember>();
  readonly #disposers: (() => void)[] = [];
  #disposed = false;
  /** When a re-AUTH last succeeded (epoch ms). */
  lastReauthAt: number | undefined;
  reauthFailures = 0;
  iamRetries = 0;

  /** Whether tokens may go over connections without TLS (a local test server). */
  readonly allowInsecureTransport: boolean;

  /**
   * `options` may be the adapter's whole options bag: only `allowInsecureTransport` is read.
   * Throws `InvalidOptionsError` when `manager` is not a token manager or
   * `allowInsecureTransport` is not a boolean.
   */
  constructor(manager: TokenManager, options: { allowInsecureTransport?: boolean } = {}) {
    assertManagerShape(manager);
    if (typeof options !== "object" || options === null) {
      throw new InvalidOptionsError("options", "must be an object: { allowInsecureTransport? }.");
    }
    const { allowInsecureTransport } = options;
    if (allowInsecureTransport !== undefined && typeof allowInsecureTransport !== "boolean") {
      throw new InvalidOptionsError(
        "allowInsecureTransport",
        `must be true or false, not ${typeof allowInsecureTransport}.`,
      );
    }
    this.manager = manager;
    this.allowInsecureTransport = options.allowInsecureTransport === true;
  }

  /** Throws `InsecureTransportError` for a connection to `target` without TLS, unless allowed. */
  assertTransport(tls: boolean, target: string): void {
    if (!tls && !this.allowInsecureTransport) throw new InsecureTransportError(target);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Runs `dispose` (undoing the adapter's own hooks) when the binding is disposed. */
  onDispose(dispose: () => void): void {
    this.#disposers.push(dispose);
  }

  /** The manager's valid credentials; undefined when it holds none or was disposed. */
  current(): RedisCredentials | undefined {
    if (this.managerDisposed) return undefined;
    return this.manager.peekCredentials();
  }

  get managerDisposed(): boolean {
    return this.manager.status().state === "disposed";
  }

  /**
   * For sessions: `attached` from creation until they end (so that `dispose()` reaches them),
   * `live` while they listen to the manager.
   */
  track(session: GroupMember, state: "attached" | "live" | "ended"): void {
    if (state === "ended") {
      this.#live.delete(session);
      this.#sessions.delete(session);
      return;
    }
    this.#sessions.add(session);
    if (state === "live") this.#live.add(session);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const session of [...this.#sessions]) session.dispose();
    for (const dispose of this.#disposers.splice(0).reverse()) dispose();
  }

  status(): CredentialsBindingStatus {
    return {
      connections: this.#live.size,
      ...(this.lastReauthAt !== undefined && { lastReauthAt: this.lastReauthAt }),
      reauthFailures: this.reauthFailures,
      iamRetries: this.iamRetries,
    };
  }
}

/** What a group and its sessions call on the manager; a disposed one is the adapters' to refuse. */
function assertManagerShape(manager: TokenManager): void {
  const members = manager as unknown as Record<string, unknown> | null | undefined;
  const methods = ["subscribe", "peekCredentials", "getCredentials", "status"];
  const complete =
    typeof members === "object" &&
    members !== null &&
    methods.every((method) => typeof members[method] === "function") &&
    typeof members.clock === "object" &&
    members.clock !== null;
  if (complete) return;
  throw new InvalidOptionsError("manager", "must be a token manager from createTokenManager().");
}
