import { Socket } from "node:net";
import { CredentialsError } from "@redis-credentials/core";
import { encodeCommand, RespParser, type RespValue } from "./resp";

/**
 * A plain connection to a redis-server's own port (not its token proxy), authenticated with the
 * server's internal password: how the harness configures and inspects the servers it runs.
 */
export interface AdminClient {
  /** Sends one command; resolves with its reply, rejects with {@link AdminCommandError} on an error reply. */
  command(...args: string[]): Promise<RespValue>;
  /** Whether the connection is gone (closed, failed or timed out): open a new one. */
  readonly closed: boolean;
  close(): void;
}

export interface ConnectAdminOptions {
  host: string;
  port: number;
  /** The server's `requirepass`. @default none: no AUTH (a sentinel) */
  password?: string;
  /**
   * How long one command (and the connection) may take; past it the connection is destroyed
   * (a paused server never answers).
   * @default 5000
   */
  timeoutMs?: number;
}

/** An admin command failed: an error reply, a timeout, or a lost connection. */
export class AdminCommandError extends CredentialsError {
  override name = "AdminCommandError";
  /** The error reply from redis-server, when there was one. */
  readonly reply?: string;

  constructor(message: string, reply?: string) {
    super(message);
    if (reply !== undefined) this.reply = reply;
  }
}

interface Pending {
  /** The command name (and subcommand) for messages: never its arguments, which may be secrets. */
  label: string;
  resolve(value: RespValue): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Connects and authenticates; rejects when the server is unreachable or refuses the password. */
export async function connectAdmin(options: ConnectAdminOptions): Promise<AdminClient> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const where = `${options.host}:${options.port}`;
  const socket = new Socket();
  socket.setNoDelay(true);
  const pending: Pending[] = [];
  let closed = false;

  const fail = (error: Error) => {
    closed = true;
    socket.destroy();
    for (const entry of pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  };

  const parser = new RespParser((value) => {
    const entry = pending.shift();
    if (!entry) return;
    clearTimeout(entry.timer);
    if (value.type === "error") {
      entry.reject(
        new AdminCommandError(
          `${entry.label} on redis-server ${where} failed: ${value.value}`,
          value.value,
        ),
      );
    } else {
      entry.resolve(value);
    }
  });

  socket.on("data", (chunk: Buffer) => {
    try {
      parser.push(chunk);
    } catch (error) {
      fail(
        new AdminCommandError(`redis-server ${where} sent an unreadable reply: ${String(error)}`),
      );
    }
  });
  socket.on("error", (error) =>
    fail(new AdminCommandError(`Connection to redis-server ${where} failed: ${error.message}`)),
  );
  socket.on("close", () =>
    fail(new AdminCommandError(`Connection to redis-server ${where} closed`)),
  );

  const command = (...args: string[]): Promise<RespValue> => {
    const label = commandLabel(args);
    if (closed) {
      return Promise.reject(
        new AdminCommandError(`${label}: connection to redis-server ${where} is closed`),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          fail(
            new AdminCommandError(
              `${label} on redis-server ${where}: no reply within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      pending.push({ label, resolve, reject, timer });
      socket.write(encodeCommand(args));
    });
  };

  // Commands written before the connection is up are buffered by the socket, in order.
  socket.connect(options.port, options.host);
  const client: AdminClient = {
    command,
    get closed() {
      return closed;
    },
    close() {
      fail(new AdminCommandError(`Connection to redis-server ${where} closed by the caller`));
    },
  };
  try {
    // Without a password, a PING still tells that the server answers.
    await (options.password === undefined ? command("PING") : command("AUTH", options.password));
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/** `CLUSTER NODES`, `INFO`: what a message may name. */
function commandLabel(args: readonly string[]): string {
  const [name = "", sub] = args;
  const upper = name.toUpperCase();
  const withSub =
    ["CLUSTER", "CONFIG", "CLIENT", "ACL", "DEBUG"].includes(upper) && sub !== undefined;
  return withSub ? `${upper} ${sub.toUpperCase()}` : upper;
}

/** A bulk or simple string reply as text; throws when the reply has another type. */
export function replyText(value: RespValue): string {
  if (value.type === "bulk" || value.type === "verbatim") return value.value.toString("utf8");
  if (value.type === "simple") return value.value;
  throw new AdminCommandError(`Expected a string reply, got ${value.type}`);
}
