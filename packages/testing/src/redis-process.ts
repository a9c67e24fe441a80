import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { CredentialsError } from "@redis-credentials/core";

/** A `redis-server` child process on a loopback port, owned by this process. */
export interface RedisProcess {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** The redis-server's own pid (it changes on restart). */
  readonly pid: number;
  /** Its working directory (log, cluster config); removed by `stop()`. */
  readonly dir: string;
  /** Kills the server, waits for it to exit and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGSTOP: the server hangs (connections stay open, nothing is answered). */
  pause(): void;
  /** SIGCONT: the server answers again, including what was sent while paused. */
  resume(): void;
  /** Kills the server and starts it again on the same port with the same directory and arguments. */
  restart(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** The server's `requirepass` (and `masterauth`, for replicas). @default none (a sentinel) */
  password?: string;
  /** Extra `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: string[];
  /** A config file, read before the arguments (a sentinel needs one it can rewrite). */
  configFile?: string;
  /** @default a random free loopback port */
  port?: number;
  /** How long to wait for the server to answer PING. @default 10_000 */
  startTimeoutMs?: number;
}

/** `redis-server` is not on PATH. */
export class RedisServerNotFoundError extends CredentialsError {
  override name = "RedisServerNotFoundError";

  constructor() {
    super(
      "redis-server was not found on PATH. Install it: `sudo apt-get install redis-server` (Debian/Ubuntu), " +
        "`brew install redis` (macOS), or run `npm run setup` at the repository root.",
    );
  }
}

/** `redis-server` did not start or did not answer in time; the message ends with its log. */
export class RedisServerStartError extends CredentialsError {
  override name = "RedisServerStartError";
}

const DIR_PREFIX = "redis-credentials-";
const HOST = "127.0.0.1";

/*
 * The watchdog between us and redis-server. Its stdin is a pipe from this process, so when this
 * process dies for any reason (even SIGKILL) the kernel closes the pipe and `read` hits EOF: the
 * watchdog then kills redis-server and removes its directory. A line on stdin ("restart") kills
 * the server but keeps the directory. The watchdog ignores INT/HUP/TERM so that a Ctrl-C reaching
 * the whole process group cannot kill it before it has killed the server (a background job of a
 * non-interactive shell ignores SIGINT, redis-server restores its own handler). It prints the
 * server's pid first, so pause/resume signal redis-server itself, then lets go of its output
 * pipes: writing to them after we died ("Killed" job notices) would SIGPIPE it before cleanup.
 */
const WATCHDOG = `
dir=$1; shift
"$@" >>"$dir/stdout.log" 2>&1 &
pid=$!
echo "$pid"
exec >/dev/null 2>&1
trap '' INT HUP TERM PIPE
if read -r _; then
  kill -9 "$pid" 2>/dev/null; wait "$pid"
else
  kill -9 "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir"
fi
`;

/** Starts `redis-server` on a loopback port and waits until it answers AUTH + PING. */
export async function startRedisServer(options: StartRedisServerOptions): Promise<RedisProcess> {
  const binary = findRedisServer();
  sweepStaleDirectories();
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const extra = options.args ?? [];
  try {
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      const args = [
        ...(options.configFile === undefined ? [] : [options.configFile]),
        ...["--bind", HOST, "--port", String(port)],
        ...(options.password === undefined
          ? []
          : ["--requirepass", options.password, "--masterauth", options.password]),
        ...["--protected-mode", "no", "--save", "", "--appendonly", "no"],
        ...["--dir", dir, "--logfile", join(dir, "redis.log")],
        ...extra,
      ];
      const child = await spawnWatchdog(binary, dir, args);
      try {
        await waitUntilReady(port, options.password, child.pid, dir, timeoutMs);
        return new RedisChild(binary, dir, args, port, options.password, timeoutMs, child);
      } catch (error) {
        await killWatchdog(child.process, "restart");
        // Another process took the port between our probe and the server's bind: try another.
        const raced = error instanceof PortInUseError && options.port === undefined;
        if (!raced || attempt >= 5) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

class RedisChild implements RedisProcess {
  readonly host = HOST;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly binary: string,
    readonly dir: string,
    private readonly args: string[],
    readonly port: number,
    private readonly password: string | undefined,
    private readonly timeoutMs: number,
    private child: Watchdog,
  ) {}

  get pid(): number {
    return this.child.pid;
  }

  pause(): void {
    this.signal("SIGSTOP");
  }

  resume(): void {
    this.signal("SIGCONT");
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new RedisServerStartError("restart() after stop()");
    await killWatchdog(this.child.process, "restart");
    this.child = await spawnWatchdog(this.binary, this.dir, this.args);
    await waitUntilReady(this.port, this.password, this.child.pid, this.dir, this.timeoutMs);
  }

  stop(): Promise<void> {
    this.stopping ??= killWatchdog(this.child.process, "stop").then(() =>
      rmSync(this.dir, { recursive: true, force: true }),
    );
    return this.stopping;
  }

  private signal(signal: NodeJS.Signals) {
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // Already gone (stopped or crashed): nothing to pause or resume.
    }
  }
}

interface Watchdog {
  process: ChildProcess;
  pid: number;
}

function spawnWatchdog(binary: string, dir: string, args: string[]): Promise<Watchdog> {
  const child = spawn("sh", ["-c", WATCHDOG, "sh", dir, binary, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf("\n");
      if (newline < 0) return;
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      resolve({ process: child, pid: Number(out.slice(0, newline)) });
    };
    const onExit = (code: number | null) =>
      reject(
        new RedisServerStartError(`The redis-server watchdog exited (${code}): ${err.trim()}`),
      );
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
    child.once("error", reject);
  });
}

function killWatchdog(child: ChildProcess, mode: "stop" | "restart"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    // "restart" is a line (kill, keep the directory); "stop" is EOF, as if we had died.
    if (mode === "restart") child.stdin!.write("restart\n");
    child.stdin!.end();
  });
}

function findRedisServer(): string {
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  throw new RedisServerNotFoundError();
}

let swept = false;

/** Removes directories left by processes that died before their watchdog could clean up. */
function sweepStaleDirectories() {
  if (swept) return;
  swept = true;
  const root = tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(entry);
    if (!match || isAlive(Number(match[1]))) continue;
    rmSync(join(root, entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A port the kernel just handed out, free again once we close it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The server's port (or, in a cluster, its bus port) was taken before it could bind it. */
export class PortInUseError extends RedisServerStartError {}

/** Polls until the server answers; fails early when its log says it quit. */
async function waitUntilReady(
  port: number,
  password: string | undefined,
  pid: number,
  dir: string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await answersPing(port, password, pid)) return;
    const log = readLog(dir);
    if (/Address already in use/i.test(log)) {
      throw new PortInUseError(`Port ${port} is already in use.\n${tail(log)}`);
    }
    if (/Fatal|FATAL|Bad directive|Failed listening|Aborting/.test(log)) {
      throw new RedisServerStartError(
        `redis-server failed to start on port ${port}:\n${tail(log)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new RedisServerStartError(
        `redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${tail(log)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True when our server (not whatever else may hold the port) accepts AUTH and answers INFO. */
function answersPing(port: number, password: string | undefined, pid: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.startsWith("-")) done(false);
      else if (reply.includes("+PONG\r\n")) done(reply.includes(`\r\nprocess_id:${pid}\r\n`));
    });
    socket.connect(port, HOST, () => {
      const command = (...args: string[]) =>
        `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`;
      const auth = password === undefined ? "" : command("AUTH", password);
      socket.write(auth + command("INFO", "server") + command("PING"));
    });
  });
}

function readLog(dir: string): string {
  let log = "";
  for (const file of ["stdout.log", "redis.log"]) {
    try {
      log += readFileSync(join(dir, file), "utf8");
    } catch {
      // Not written yet.
    }
  }
  return log;
}

const tail = (log: string) => log.trim().split("\n").slice(-15).join("\n");
