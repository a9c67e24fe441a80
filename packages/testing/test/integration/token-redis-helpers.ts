import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { encodeCommand, RespParser, type RespValue } from "../../src/resp";
import { parseJwt } from "../../src/token-issuer";

/** A bare RESP connection: what a client library would see, with nothing in between. */
export class RawClient {
  readonly values: RespValue[] = [];
  /** When the server closed the connection (epoch ms). */
  readonly closed: Promise<number>;
  private waiters: (() => void)[] = [];
  private isClosed = false;

  private constructor(readonly socket: Socket) {
    const parser = new RespParser((value) => {
      this.values.push(value);
      this.wake();
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => parser.push(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        resolve(Date.now());
        this.wake();
      }),
    );
  }

  static connect(port: number, options: { ca?: string } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket =
        options.ca === undefined
          ? new Socket().connect(port, "127.0.0.1")
          : tlsConnect({ host: "127.0.0.1", port, ca: options.ca, servername: "localhost" });
      socket.once(options.ca === undefined ? "connect" : "secureConnect", () => {
        socket.off("error", reject);
        resolve(new RawClient(socket));
      });
      socket.once("error", reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  write(bytes: string | Buffer) {
    this.socket.write(bytes);
  }

  /** Sends a command and returns its reply (the next value the server sends). */
  command(...args: (string | Buffer)[]): Promise<RespValue> {
    this.write(encodeCommand(args));
    return this.next();
  }

  /** The next value from the server; rejects if none comes within `timeoutMs` or the connection closes. */
  async next(timeoutMs = 2000): Promise<RespValue> {
    const deadline = Date.now() + timeoutMs;
    while (this.values.length === 0) {
      if (this.isClosed) throw new Error("connection closed");
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error("no reply in time");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.values.shift()!;
  }

  close() {
    this.socket.destroy();
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/** A reply in the plain shape tests compare: strings for text, arrays, `{ error }` for errors. */
export function plain(value: RespValue): unknown {
  switch (value.type) {
    case "bulk":
    case "verbatim":
      return value.value.toString("utf8");
    case "error":
      return { error: value.value };
    case "array":
    case "set":
    case "push":
      return value.value.map(plain);
    case "map":
      return Object.fromEntries(value.value.map(([k, v]) => [String(plain(k)), plain(v)]));
    default:
      return value.value;
  }
}

export const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";
export const NOAUTH = "NOAUTH Authentication required.";

/** The token's `exp` in epoch ms: the instant the server must close connections using it. */
export function expiryOf(token: string): number {
  return (parseJwt(token)!.claims.exp as number) * 1000;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `exp` has passed by `ms` (tests time from the token's exp, never a fixed sleep). */
export const untilAfter = (instant: number, ms = 0) =>
  sleep(Math.max(0, instant + ms - Date.now()));

/** redis-server processes whose working directory (redis chdirs to --dir) starts with `prefix`. */
export function redisServersIn(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("redis-server")) continue;
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(prefix)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** This process's temporary directories for redis-servers (`<prefix>-<pid>-*`). */
export function ownRedisDirectories(pid = process.pid): string[] {
  return readdirSync(tmpdir())
    .filter((entry) => entry.startsWith(`redis-credentials-${pid}-`))
    .map((entry) => join(tmpdir(), entry));
}

export async function eventually(check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}
