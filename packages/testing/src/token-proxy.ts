import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer as createNetServer, type Server, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { IAM_EXHAUSTED } from "./gcp-verifier";
import { encodeCommand, RespParser, RespProtocolError, type RespValue } from "./resp";

/*
 * A proxy in front of one redis-server that enforces token authentication the way Azure Managed
 * Redis does. The server runs with a secret `requirepass` that only the proxy knows; the proxy
 * rewrites every AUTH (and HELLO ... AUTH) to the secret when the token verifies and to a wrong
 * password when it does not, so Redis itself produces every reply, in order, with its own
 * semantics (NOAUTH, WRONGPASS, QUEUED inside MULTI, refusals in RESP2 subscribe mode). Replies are
 * parsed only to know which one answers which command; all bytes but the rewritten AUTHs pass
 * through untouched, with two exceptions. A verifier may refuse a token with an error reply of its
 * own (GCP's `-ERR_IAM_EXHAUSTED ...`) instead of WRONGPASS: that AUTH still goes upstream with the
 * wrong password, to hold its place among the replies, and Redis's WRONGPASS is swapped for the
 * verifier's error on its way back. And ACL WHOAMI, which Redis answers `default` (the only user it
 * has), is answered with the user the token named, as the clouds answer it. While such a swap is
 * due, replies are forwarded one by one as the parser completes them, not chunk by chunk as they
 * arrive (`onUpstreamData`).
 *
 * When an AUTH with a valid token is answered +OK, the connection gets a
 * deadline, at which both sockets are closed: the token's expiry (Entra ID), or a lifetime counted
 * from that AUTH when the verifier's claims carry one (AWS IAM: 12 hours, whatever the token's
 * expiry). The claims say which, and so which counter the close adds to.
 *
 * With `internalAuth`, an AUTH (or HELLO ... AUTH) with the secret itself goes upstream unchanged
 * and makes the connection internal: a cluster's replicas replicate through their master's proxy
 * (its announced address) with `masterauth`. An internal connection is a plain pipe from then on:
 * no counters, no deadline, not listed, never killed by killConnections (close() still ends it).
 * Only the proxy and the servers know the secret, a random one per instance.
 */

/** What the proxy reads from the claims of an accepted token. */
export interface VerifiedClaims {
  /** The user the connection is authenticated as from then on: an Entra token's `oid`, the AWS user id. */
  readonly oid: string;
  /** The token's expiry (epoch seconds): the connection's deadline, unless `connectionLifetimeMs` is set. */
  readonly exp: number;
  /**
   * The connection lives this long after the AUTH is accepted, whatever the token's expiry (AWS
   * IAM: 12 hours); a close at that deadline counts as `closedAtLifetimeLimit`, not `closedAtExpiry`.
   */
  readonly connectionLifetimeMs?: number | undefined;
}

/** An error reply a verifier sends instead of Redis's WRONGPASS: `-<code> <message>\r\n`. */
export interface AuthErrorReply {
  /** The reply's first word, e.g. `ERR_IAM_EXHAUSTED`. */
  readonly code: string;
  readonly message: string;
}

/**
 * A verifier's answer: the claims of a valid token, or why it was refused. A refusal is answered
 * WRONGPASS and counted in `authRejected` under its reason; with `errorReply`, it is answered with
 * that error instead and counted in `authErrorReplies` under its code.
 */
export type VerifierResult =
  | { readonly ok: true; readonly claims: VerifiedClaims }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly errorReply?: AuthErrorReply | undefined;
    };

/**
 * What verifies tokens: the identity emulator, a TokenIssuer, an AWS verifier (createAwsVerifier)
 * or a GCP one (createGcpVerifier). `user` is the AUTH user name (`default` for a one-argument
 * AUTH); `authenticated` says whether the connection has authenticated before (a re-AUTH, not a
 * new connection).
 */
export interface TokenVerifier {
  verifyToken(token: string, options?: { user?: string; authenticated?: boolean }): VerifierResult;
}

/** One live client connection, as the counters show it. */
export interface ConnectionStats {
  /** Unique among the proxies sharing one stats object. */
  readonly id: number;
  /** The proxy's (the node's) port the client connected to. */
  readonly port: number;
  /** The client's own port: `socket.localPort` on the client side identifies its connection. */
  readonly clientPort: number;
  /** The user of the token last accepted (Entra: its `oid`; AWS: the user id), undefined before the first accepted AUTH. */
  readonly user: string | undefined;
  readonly authAttempts: number;
  readonly authSuccesses: number;
  /**
   * When the server closes the connection (epoch ms): the accepted token's `exp`, or (AWS mode)
   * the connection lifetime limit counted from the last accepted AUTH.
   */
  readonly expiresAt: number | undefined;
}

/** AUTH attempts and successes during one wall-clock second. */
export interface AuthSecond {
  /** Epoch seconds. */
  readonly second: number;
  readonly authAttempts: number;
  readonly authSuccesses: number;
}

export interface TokenRedisStats {
  /** AUTH and HELLO ... AUTH commands received. */
  authAttempts: number;
  /** Those Redis accepted with a valid token (each one set a new deadline). */
  authSuccesses: number;
  /**
   * Tokens refused, by reason: malformed, signature, expired, not-yet-valid, audience, user (Entra
   * ID); malformed, signature, credential, host, action, user, resource-type, service, region,
   * expired, not-yet-valid, expires-too-long (AWS); user, malformed, signature, expired, principal
   * (GCP).
   */
  authRejected: Record<string, number>;
  /**
   * AUTHs answered with a verifier's error reply instead of WRONGPASS, by the reply's code (GCP:
   * `ERR_IAM_EXHAUSTED`). Not in `authRejected`. When Redis did not answer WRONGPASS (the AUTH was
   * queued inside MULTI, or refused in RESP2 subscribe mode), its own reply stands and the refusal
   * is counted in `authRejected` instead.
   */
  authErrorReplies: Record<string, number>;
  /** AUTHs answered `-ERR_IAM_EXHAUSTED` (GCP mode, over `newConnectionsPerSecond`): `authErrorReplies.ERR_IAM_EXHAUSTED`. */
  iamExhausted: number;
  /**
   * Valid tokens whose AUTH Redis did not apply: `queued` (inside MULTI), `refused` (an error
   * reply, e.g. RESP2 subscribe mode), `unanswered` (sent with replies switched off or while
   * monitoring, so the outcome is unknown).
   */
  authNotApplied: Record<string, number>;
  /** Connections the server closed because their token expired (Entra ID). */
  closedAtExpiry: number;
  /** Connections the server closed at the connection lifetime limit after their last AUTH (AWS, GCP). */
  closedAtLifetimeLimit: number;
  /** Live client connections. */
  connections: number;
  /** Live authenticated connections by user (the token's `oid`, the AWS user id). */
  connectionsByUser: Record<string, number>;
  /** Every live connection. */
  perConnection: ConnectionStats[];
  /** The last 300 seconds that saw an AUTH, oldest first. */
  perSecond: AuthSecond[];
}

const PER_SECOND_WINDOW = 300;

/** Counters shared by the proxies of one token-enforcing Redis (every node of a cluster). */
export class ProxyStats {
  authAttempts = 0;
  authSuccesses = 0;
  closedAtExpiry = 0;
  closedAtLifetimeLimit = 0;
  readonly authRejected: Record<string, number> = {};
  readonly authErrorReplies: Record<string, number> = {};
  readonly authNotApplied: Record<string, number> = {};
  /** @internal the live connections of every proxy */
  readonly live = new Set<{ info(): ConnectionStats }>();
  private nextId = 1;
  private readonly seconds: { second: number; attempts: number; successes: number }[] = [];

  /** @internal */
  newConnectionId(): number {
    return this.nextId++;
  }

  /** @internal */
  recordAttempt(now: number) {
    this.authAttempts++;
    this.bucket(now).attempts++;
  }

  /** @internal */
  recordSuccess(now: number) {
    this.authSuccesses++;
    this.bucket(now).successes++;
  }

  /** @internal */
  count(table: Record<string, number>, key: string) {
    table[key] = (table[key] ?? 0) + 1;
  }

  snapshot(now = Date.now()): TokenRedisStats {
    const perConnection = [...this.live].map((connection) => connection.info());
    const connectionsByUser: Record<string, number> = {};
    for (const { user } of perConnection) {
      if (user !== undefined) connectionsByUser[user] = (connectionsByUser[user] ?? 0) + 1;
    }
    const oldest = Math.floor(now / 1000) - PER_SECOND_WINDOW;
    return {
      authAttempts: this.authAttempts,
      authSuccesses: this.authSuccesses,
      authRejected: { ...this.authRejected },
      authErrorReplies: { ...this.authErrorReplies },
      iamExhausted: this.authErrorReplies[IAM_EXHAUSTED] ?? 0,
      authNotApplied: { ...this.authNotApplied },
      closedAtExpiry: this.closedAtExpiry,
      closedAtLifetimeLimit: this.closedAtLifetimeLimit,
      connections: perConnection.length,
      connectionsByUser,
      perConnection,
      perSecond: this.seconds
        .filter((bucket) => bucket.second > oldest)
        .sort((a, b) => a.second - b.second)
        .map(({ second, attempts, successes }) => ({
          second,
          authAttempts: attempts,
          authSuccesses: successes,
        })),
    };
  }

  private bucket(now: number) {
    const second = Math.floor(now / 1000);
    const slot = second % PER_SECOND_WINDOW;
    let bucket = this.seconds[slot];
    if (bucket?.second !== second) {
      bucket = { second, attempts: 0, successes: 0 };
      this.seconds[slot] = bucket;
    }
    return bucket;
  }
}

export interface TokenProxyOptions {
  /** The redis-server's port on 127.0.0.1. */
  upstreamPort: number;
  /** The redis-server's `requirepass`: sent upstream for valid tokens, never shown to clients. */
  upstreamPassword: string;
  identity: TokenVerifier;
  /** Terminate TLS with this certificate (clients speak TLS, the server plain TCP). @default plain TCP */
  tls?: { key: string; cert: string };
  /** @default a random free loopback port */
  port?: number;
  /** Counters to add to, shared with other proxies. @default a fresh ProxyStats */
  stats?: ProxyStats;
  /**
   * Let connections that authenticate with `upstreamPassword` itself through as internal ones
   * (replication inside a cluster). Without it, that password is just a malformed token.
   * @default false
   */
  internalAuth?: boolean;
}

/** Picks connections: by id, by user (oid), by client port, or any predicate. */
export type ConnectionFilter =
  | ((connection: ConnectionStats) => boolean)
  | { id?: number; user?: string; clientPort?: number };

export interface TokenProxy {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly stats: ProxyStats;
  /** The live connections through this proxy. */
  connections(): ConnectionStats[];
  /** Closes the matching connections (all without a filter), as a server-side kill does. */
  killConnections(filter?: ConnectionFilter): number;
  /** Stops listening and closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** Starts a token-enforcing proxy in front of a redis-server on 127.0.0.1:upstreamPort. */
export async function createTokenProxy(options: TokenProxyOptions): Promise<TokenProxy> {
  const stats = options.stats ?? new ProxyStats();
  const connections = new Set<ProxyConnection>();
  // Any password but the secret: Redis answers it with its own WRONGPASS.
  const wrongPassword = `not-${randomBytes(16).toString("hex")}`;
  let port = 0;

  const onSocket = (client: Socket) => {
    const connection = new ProxyConnection(client, {
      ...options,
      stats,
      port,
      wrongPassword,
      onInternal: () => stats.live.delete(connection),
      onClose: () => {
        connections.delete(connection);
        stats.live.delete(connection);
      },
    });
    connections.add(connection);
    stats.live.add(connection);
  };

  const server: Server = options.tls
    ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onSocket)
    : createNetServer(onSocket);
  // A client that fails the TLS handshake is its own problem, not the server's.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as { port: number }).port;

  // Internal connections (replication) are nobody's business but the cluster's.
  const clients = () => [...connections].filter((connection) => !connection.internal);
  const select = (filter?: ConnectionFilter) =>
    clients().filter((connection) => matches(connection.info(), filter));
  let closing: Promise<void> | undefined;

  return {
    host: "127.0.0.1",
    port,
    stats,
    connections: () => clients().map((connection) => connection.info()),
    killConnections(filter) {
      const victims = select(filter);
      for (const connection of victims) connection.destroy();
      return victims.length;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of connections) connection.destroy();
      });
      return closing;
    },
  };
}

/** Whether a connection is one `filter` picks (every connection without a filter). */
function matches(info: ConnectionStats, filter: ConnectionFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "function") return filter(info);
  return (
    (filter.id === undefined || filter.id === info.id) &&
    (filter.user === undefined || filter.user === info.user) &&
    (filter.clientPort === undefined || filter.clientPort === info.clientPort)
  );
}

/** A command sent upstream whose reply is still to come. */
type Pending =
  | { kind: "plain" }
  | { kind: "monitor" }
  | { kind: "reset" }
  /** HELLO without AUTH: its reply tells the protocol. */
  | { kind: "hello" }
  | {
      kind: "auth";
      command: "auth" | "hello";
      claims: VerifiedClaims | undefined;
      /** A refusal answered with the verifier's error reply instead of Redis's WRONGPASS. */
      refusal?: Refusal | undefined;
    }
  /** (P|S)(UN)SUBSCRIBE: answered by confirmations (out of band) or one in-band error. */
  | { kind: "pubsub"; command: string; expected: number | undefined }
  /** ACL WHOAMI: Redis's answer (`default`, the one user it knows) is swapped for the token's user. */
  | { kind: "whoami" };

/** A token refused with an error reply of the verifier's own. */
interface Refusal {
  readonly reason: string;
  readonly errorReply: AuthErrorReply;
}

/** What `verify` found: the claims of a valid token, a refusal with an error reply, or neither (WRONGPASS). */
type Verdict = { claims?: VerifiedClaims; refusal?: Refusal };

const SUBSCRIBE = new Set(["subscribe", "psubscribe", "ssubscribe"]);
const UNSUBSCRIBE = new Set(["unsubscribe", "punsubscribe", "sunsubscribe"]);
const MESSAGES = new Set(["message", "pmessage", "smessage"]);
const MAX_TIMER_MS = 2 ** 31 - 1;

interface ConnectionOptions extends TokenProxyOptions {
  stats: ProxyStats;
  port: number;
  wrongPassword: string;
  /** Drops the connection from the shared counters when it turns internal. */
  onInternal(): void;
  onClose(): void;
}

class ProxyConnection {
  private readonly id: number;
  private readonly upstream: Socket;
  private readonly stats: ProxyStats;
  private user: string | undefined;
  private expiresAt: number | undefined;
  /** The counter a close at `expiresAt` adds to: what the deadline is, as the accepted claims said. */
  private deadline: "closedAtExpiry" | "closedAtLifetimeLimit" = "closedAtExpiry";
  private timer: NodeJS.Timeout | undefined;
  private authAttempts = 0;
  private authSuccesses = 0;
  private readonly pending: (Pending | undefined)[] = [];
  private pendingHead = 0;
  private readonly replies: RespParser;
  /** Bytes already sent to the client that the reply parser has not completed a reply with yet. */
  private ahead = 0;
  /** Pending AUTHs whose WRONGPASS is to be swapped for a verifier's error reply. */
  private substitutions = 0;
  /** Replies are no longer parsed (MONITOR, internal, not RESP): upstream bytes just pass. */
  private rawReplies = false;
  private resp3 = false;
  private monitoring = false;
  private replyOff = false;
  private skipNext = false;
  /**
   * Forward the client's bytes untouched from now on: it sent bytes that are not RESP (Redis will
   * close), or the connection is internal.
   */
  private passthrough = false;
  /** Authenticated with the servers' own password: replication, outside every counter. */
  internal = false;
  /** Channels, patterns and shard channels this connection is subscribed to, from confirmations. */
  private readonly subscriptions = {
    channel: new Set<string>(),
    pattern: new Set<string>(),
    shard: new Set<string>(),
  };
  private closed = false;
  private readonly clientPort: number;

  constructor(
    private readonly client: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.stats = options.stats;
    this.id = options.stats.newConnectionId();
    this.clientPort = client.remotePort ?? 0;
    client.setNoDelay(true);
    this.upstream = new Socket();
    this.upstream.setNoDelay(true);
    this.upstream.connect(options.upstreamPort, "127.0.0.1");

    const commands = new RespParser((command, raw) => this.onCommand(command, raw), {
      mode: "command",
    });
    this.replies = new RespParser((reply, raw) => this.onReplyBytes(reply, raw));

    client.on("data", (chunk: Buffer) => {
      if (this.passthrough) {
        this.forward(chunk);
        return;
      }
      this.upstream.cork();
      try {
        commands.push(chunk);
        // Turned internal: the rest, from an incomplete command on, is no business of ours.
        if (this.internal) {
          this.passthrough = true;
          this.forward(commands.takePending());
        }
      } catch (error) {
        if (!(error instanceof RespProtocolError)) throw error;
        this.passthrough = true;
        this.forward(commands.takePending());
      } finally {
        this.upstream.uncork();
      }
    });
    this.upstream.on("data", (chunk: Buffer) => this.onUpstreamData(chunk));
    client.on("drain", () => this.upstream.resume());
    this.upstream.on("drain", () => client.resume());

    // A half-close travels on (QUIT's +OK still reaches the client); a full close ends both.
    client.on("end", () => this.upstream.end());
    this.upstream.on("end", () => client.end());
    client.on("close", () => this.destroy());
    this.upstream.on("close", () => {
      if (client.writableLength === 0) this.destroy();
      else client.end(() => this.destroy());
    });
    client.on("error", () => this.destroy());
    this.upstream.on("error", () => this.destroy());
  }

  info(): ConnectionStats {
    return {
      id: this.id,
      port: this.options.port,
      clientPort: this.clientPort,
      user: this.user,
      authAttempts: this.authAttempts,
      authSuccesses: this.authSuccesses,
      expiresAt: this.expiresAt,
    };
  }

  destroy() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.client.destroy();
    this.upstream.destroy();
    this.options.onClose();
  }

  private forward(bytes: Buffer) {
    if (bytes.length > 0 && !this.upstream.write(bytes)) this.client.pause();
  }

  private toClient(bytes: Buffer) {
    if (bytes.length > 0 && !this.client.write(bytes)) this.upstream.pause();
  }

  /**
   * Redis's bytes on their way to the client. With no reply to swap and nothing held back, a chunk
   * is sent on as it came, then parsed to follow the replies (`ahead` counts what was sent before
   * the parser completed it). While a swap is due, the parser's complete replies are sent one by
   * one (`onReplyBytes`), so that the one to swap can be, and a reply's bytes are held until it
   * is complete.
   */
  private onUpstreamData(chunk: Buffer) {
    if (this.monitoring || this.internal) {
      this.stopParsingReplies();
      this.toClient(chunk);
      return;
    }
    const passOn = this.substitutions === 0 && this.replies.pending === this.ahead;
    if (passOn) {
      this.toClient(chunk);
      this.ahead += chunk.length;
    } else {
      // Replies held back leave one write each: corked, they go out together.
      this.client.cork();
    }
    try {
      this.replies.push(chunk);
    } catch {
      // Not RESP from redis-server? Stop correlating rather than guess: nothing is answered
      // from now on as far as we know, so nothing waits for a reply.
      this.monitoring = true;
      this.clearPending();
    } finally {
      if (this.monitoring || this.internal) this.stopParsingReplies();
      if (!passOn) this.client.uncork();
    }
  }

  /** One complete reply: sent on unless it already was, or swapped for a verifier's error. */
  private onReplyBytes(reply: RespValue, raw: Buffer) {
    const replacement = this.onReply(reply);
    if (replacement !== undefined) {
      this.toClient(replacement);
      return;
    }
    const sent = Math.min(this.ahead, raw.length);
    this.ahead -= sent;
    if (sent < raw.length) this.toClient(sent === 0 ? raw : raw.subarray(sent));
  }

  /** From now on upstream bytes pass untouched: first the ones the parser held back. */
  private stopParsingReplies() {
    if (this.rawReplies) return;
    this.rawReplies = true;
    const held = this.replies.takePending();
    if (held.length > this.ahead) this.toClient(held.subarray(this.ahead));
    this.ahead = 0;
  }

  private onCommand(command: RespValue, raw: Buffer) {
    if (this.internal) {
      // The commands that came in the same chunk as the internal AUTH.
      this.forward(raw);
      return;
    }
    const args = command.type === "array" ? command.value : [];
    if (args.length === 0 || !args.every((arg) => arg.type === "bulk")) {
      // Redis answers neither an empty command nor (except by closing) a malformed one.
      this.forward(raw);
      return;
    }
    const words = args.map((arg) => arg.value as Buffer);
    const name = words[0]!.toString("latin1").toLowerCase();
    const replied = this.expectReply(name, words);

    if (name === "auth" && (words.length === 2 || words.length === 3)) {
      if (this.isInternalPassword(words[words.length - 1]!)) {
        this.forward(raw);
        this.becomeInternal();
        return;
      }
      const user = words.length === 3 ? words[1]!.toString("utf8") : "default";
      const { claims, refusal } = this.verify(words[words.length - 1]!, user);
      const password = claims ? this.options.upstreamPassword : this.options.wrongPassword;
      this.forward(encodeCommand(["AUTH", "default", password]));
      this.afterAuth(replied, { kind: "auth", command: "auth", claims, refusal });
      return;
    }
    if (name === "config") {
      // CONFIG GET would hand any client the internal password (requirepass, masterauth).
      // Azure disables CONFIG altogether; a subcommand Redis does not know gets its error in order.
      this.forward(encodeCommand(["CONFIG", "DISABLED-BY-TOKEN-REDIS"]));
      if (replied) this.enqueue({ kind: "plain" });
      return;
    }
    if (name === "hello") {
      const auths = helloAuthPositions(words);
      const last = auths[auths.length - 1];
      if (last !== undefined) {
        if (this.isInternalPassword(words[last + 2]!)) {
          this.forward(raw);
          this.becomeInternal();
          return;
        }
        const { claims, refusal } = this.verify(
          words[last + 2]!,
          words[last + 1]!.toString("utf8"),
        );
        const password = claims ? this.options.upstreamPassword : this.options.wrongPassword;
        const rewritten = [...words];
        for (const at of auths) {
          rewritten[at + 1] = Buffer.from("default");
          rewritten[at + 2] = Buffer.from(password);
        }
        this.forward(encodeCommand(rewritten));
        this.afterAuth(replied, { kind: "auth", command: "hello", claims, refusal });
        return;
      }
      this.forward(raw);
      if (replied) this.enqueue({ kind: "hello" });
      return;
    }

    this.forward(raw);
    if (!replied) return;
    if (name === "acl" && words.length === 2 && isWord(words[1]!, "whoami")) {
      this.enqueue({ kind: "whoami" });
      this.substitutions++;
      return;
    }
    if (SUBSCRIBE.has(name)) {
      this.enqueue({ kind: "pubsub", command: name, expected: words.length - 1 });
    } else if (UNSUBSCRIBE.has(name)) {
      // Without arguments, one confirmation per subscription: counted when the first arrives.
      this.enqueue({ kind: "pubsub", command: name, expected: words.length - 1 || undefined });
    } else if (name === "monitor") {
      this.enqueue({ kind: "monitor" });
    } else if (name === "reset") {
      this.enqueue({ kind: "reset" });
    } else {
      this.enqueue({ kind: "plain" });
    }
  }

  /** Whether Redis will answer this command in band (CLIENT REPLY OFF/SKIP and MONITOR silence it). */
  private expectReply(name: string, words: Buffer[]): boolean {
    if (name === "client" && words[1]?.toString("latin1").toLowerCase() === "reply") {
      const mode = words[2]?.toString("latin1").toLowerCase();
      if (mode === "off" || mode === "skip") {
        if (mode === "off") this.replyOff = true;
        else if (!this.replyOff) this.skipNext = true;
        return false;
      }
      if (mode === "on") {
        this.replyOff = false;
        this.skipNext = false;
        return !this.monitoring;
      }
    }
    const silenced = this.replyOff || this.skipNext;
    this.skipNext = false;
    // A replica's acknowledgement (every second) is never answered.
    if (name === "replconf" && words[1]?.toString("latin1").toLowerCase() === "ack") return false;
    return !silenced && !this.monitoring;
  }

  private isInternalPassword(password: Buffer): boolean {
    if (!this.options.internalAuth) return false;
    const secret = Buffer.from(this.options.upstreamPassword);
    return password.length === secret.length && timingSafeEqual(password, secret);
  }

  /** Replication: out of the counters and the lists, no deadline, no more parsing. */
  private becomeInternal() {
    this.internal = true;
    clearTimeout(this.timer);
    this.user = undefined;
    this.expiresAt = undefined;
    this.clearPending();
    this.options.onInternal();
  }

  private verify(token: Buffer, user: string): Verdict {
    const now = Date.now();
    this.authAttempts++;
    this.stats.recordAttempt(now);
    const result = this.options.identity.verifyToken(token.toString("utf8"), {
      user,
      authenticated: this.user !== undefined,
    });
    if (result.ok) return { claims: result.claims };
    if (result.errorReply === undefined) {
      this.stats.count(this.stats.authRejected, result.reason);
      return {};
    }
    return { refusal: { reason: result.reason, errorReply: result.errorReply } };
  }

  private afterAuth(replied: boolean, pending: Pending & { kind: "auth" }) {
    if (replied) {
      this.enqueue(pending);
      if (pending.refusal) this.substitutions++;
      return;
    }
    if (pending.claims) this.stats.count(this.stats.authNotApplied, "unanswered");
    // No reply to swap: a refusal like any other.
    if (pending.refusal) this.stats.count(this.stats.authRejected, pending.refusal.reason);
  }

  /**
   * The verifier's error reply, in place of Redis's answer to the AUTH it refused: when that
   * answer is WRONGPASS, as it is unless Redis did not run the AUTH (QUEUED inside MULTI, a
   * refusal in RESP2 subscribe mode), whose own reply then stands as for any refused token.
   */
  private errorReplyFor(refusal: Refusal, reply: RespValue): Buffer | undefined {
    this.substitutions--;
    const wrongPass = reply.type === "error" && reply.value.startsWith("WRONGPASS");
    // `ahead` is 0 unless the reply was sent on before the swap was due: never, as Redis
    // answers the AUTH after it got it, and the swap was due from then on.
    if (!wrongPass || this.ahead > 0) {
      this.stats.count(this.stats.authRejected, refusal.reason);
      return undefined;
    }
    const code = oneLine(refusal.errorReply.code).replace(/ /g, "_") || "ERR";
    this.stats.count(this.stats.authErrorReplies, code);
    return Buffer.from(`-${code} ${oneLine(refusal.errorReply.message)}\r\n`);
  }

  /**
   * The user the last accepted AUTH named (Entra: the token's `oid`; AWS: the user id; GCP: the
   * service account), as the clouds answer ACL WHOAMI, in place of Redis's own `default`. An
   * error (NOAUTH before any AUTH) or a QUEUED inside MULTI stands as Redis sent it.
   */
  private whoamiReplyFor(reply: RespValue): Buffer | undefined {
    this.substitutions--;
    // `ahead` is 0 here for the same reason as in errorReplyFor.
    if (reply.type !== "bulk" || this.user === undefined || this.ahead > 0) return undefined;
    const user = Buffer.from(this.user, "utf8");
    return Buffer.concat([Buffer.from(`$${user.length}\r\n`), user, Buffer.from("\r\n")]);
  }

  private enqueue(pending: Pending) {
    this.pending.push(pending);
  }

  private clearPending() {
    this.pending.length = 0;
    this.pendingHead = 0;
    this.substitutions = 0;
  }

  private head(): Pending | undefined {
    return this.pending[this.pendingHead];
  }

  private shift(): Pending | undefined {
    const head = this.pending[this.pendingHead];
    if (head === undefined) return undefined;
    // Answered entries hold the token's claims: release them now, not once 1,024 have piled up
    // on every connection (a soak's hundreds of connections made that look like a leak).
    this.pending[this.pendingHead] = undefined;
    this.pendingHead++;
    if (this.pendingHead === this.pending.length) {
      this.pending.length = 0;
      this.pendingHead = 0;
    } else if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    return head;
  }

  /** Follows one reply; returns the bytes to send in its place when it is to be swapped. */
  private onReply(reply: RespValue): Buffer | undefined {
    if (this.monitoring) return undefined;
    const pubsub = this.pubsubKind(reply);
    if (pubsub !== undefined) {
      this.onPubsub(pubsub, reply);
      return undefined;
    }
    const pending = this.shift();
    if (!pending) return undefined;
    if (pending.kind === "auth" && pending.refusal) {
      return this.errorReplyFor(pending.refusal, reply);
    }
    if (pending.kind === "whoami") return this.whoamiReplyFor(reply);
    this.follow(pending, reply);
    return undefined;
  }

  /** What an in-band reply to `pending` changes: the protocol, MONITOR, RESET, the deadline. */
  private follow(pending: Pending, reply: RespValue) {
    const failed = reply.type === "error";
    switch (pending.kind) {
      case "monitor":
        if (!isOk(reply)) return;
        // No reply is read from now on: nothing pipelined after MONITOR waits for one.
        this.monitoring = true;
        this.clearPending();
        return;
      case "reset":
        if (reply.type === "simple" && reply.value === "RESET") this.reset();
        return;
      case "hello":
        if (!failed && isHelloReply(reply)) this.resp3 = reply.type === "map";
        return;
      case "auth": {
        const accepted = pending.command === "auth" ? isOk(reply) : isHelloReply(reply);
        if (pending.command === "hello" && accepted) this.resp3 = reply.type === "map";
        if (!pending.claims) return;
        if (accepted) this.accept(pending.claims);
        else {
          const queued = reply.type === "simple" && reply.value === "QUEUED";
          this.stats.count(this.stats.authNotApplied, queued ? "queued" : "refused");
        }
        return;
      }
      default:
        return;
    }
  }

  /** The pub/sub kind of an out-of-band reply (subscribe confirmations, messages), if it is one. */
  private pubsubKind(reply: RespValue): string | undefined {
    if (reply.type === "push") return firstWord(reply.value) ?? "";
    // RESP2 has no push type: pub/sub arrays are told apart by their first element, and can
    // only come while subscribed or in answer to a (un)subscribe.
    if (this.resp3 || reply.type !== "array") return undefined;
    const word = firstWord(reply.value);
    if (
      word === undefined ||
      !(SUBSCRIBE.has(word) || UNSUBSCRIBE.has(word) || MESSAGES.has(word))
    ) {
      return undefined;
    }
    const subscribed =
      this.subscriptions.channel.size +
      this.subscriptions.pattern.size +
      this.subscriptions.shard.size;
    return subscribed > 0 || this.head()?.kind === "pubsub" ? word : undefined;
  }

  private onPubsub(kind: string, reply: RespValue) {
    if (!SUBSCRIBE.has(kind) && !UNSUBSCRIBE.has(kind)) return;
    const set = this.subscriptionsFor(kind);
    const head = this.head();
    if (head?.kind === "pubsub" && head.command === kind) {
      head.expected ??= Math.max(1, set.size);
      head.expected--;
      if (head.expected <= 0) this.shift();
    }
    const channel = (reply.value as RespValue[])[1];
    if (channel?.type !== "bulk") return;
    const name = channel.value.toString("latin1");
    if (SUBSCRIBE.has(kind)) set.add(name);
    else set.delete(name);
  }

  private subscriptionsFor(kind: string): Set<string> {
    if (kind.startsWith("p")) return this.subscriptions.pattern;
    if (kind.startsWith("s")) return this.subscriptions.shard;
    return this.subscriptions.channel;
  }

  private accept(claims: VerifiedClaims) {
    const now = Date.now();
    const lifetimeMs = claims.connectionLifetimeMs;
    this.user = claims.oid;
    this.expiresAt = lifetimeMs === undefined ? claims.exp * 1000 : now + lifetimeMs;
    this.deadline = lifetimeMs === undefined ? "closedAtExpiry" : "closedAtLifetimeLimit";
    this.authSuccesses++;
    this.stats.recordSuccess(now);
    this.schedule();
  }

  /** One timer per connection, moved by every accepted AUTH. */
  private schedule() {
    clearTimeout(this.timer);
    if (this.expiresAt === undefined || this.closed) return;
    const delay = this.expiresAt - Date.now();
    if (delay <= 0) {
      this.expire();
      return;
    }
    this.timer = setTimeout(() => this.schedule(), Math.min(delay, MAX_TIMER_MS));
  }

  private expire() {
    if (this.closed) return;
    this.stats[this.deadline]++;
    this.destroy();
  }

  /** RESET: Redis logs the connection out and back to RESP2, unsubscribed, out of MONITOR. */
  private reset() {
    clearTimeout(this.timer);
    this.user = undefined;
    this.expiresAt = undefined;
    this.resp3 = false;
    this.monitoring = false;
    this.subscriptions.channel.clear();
    this.subscriptions.pattern.clear();
    this.subscriptions.shard.clear();
  }
}

/** Where HELLO's AUTH options are, read as redis-server reads them (the last one counts). */
function helloAuthPositions(words: Buffer[]): number[] {
  const positions: number[] = [];
  for (let i = 2; i < words.length; i++) {
    const option = words[i]!.toString("latin1").toLowerCase();
    const more = words.length - 1 - i;
    if (option === "auth" && more >= 2) {
      positions.push(i);
      i += 2;
    } else if (option === "setname" && more >= 1) {
      i += 1;
    } else {
      break;
    }
  }
  return positions;
}

/** Whether a command word is `word` (lower case), in any case. */
const isWord = (bytes: Buffer, word: string) => bytes.toString("latin1").toLowerCase() === word;

function firstWord(values: RespValue[]): string | undefined {
  const first = values[0];
  if (first?.type === "bulk") return first.value.toString("latin1").toLowerCase();
  if (first?.type === "simple") return first.value.toLowerCase();
  return undefined;
}

/** Text for a RESP error line: no CR or LF, which would end it early. */
const oneLine = (text: string) => text.replace(/[\r\n]+/g, " ").trim();

const isOk = (reply: RespValue) => reply.type === "simple" && reply.value === "OK";
const isHelloReply = (reply: RespValue) => reply.type === "map" || reply.type === "array";
