import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CredentialsError } from "@redis-credentials/core";
import {
  RedisServerNotFoundError,
  RedisServerStartError,
  startRedisServer,
} from "../../src/redis-process";
import { encodeCommand } from "../../src/resp";

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function eventually(check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends AUTH + PING on a fresh socket; resolves with the reply text, or "timeout". */
function ping(port: number, password: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = "";
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done("timeout"));
    socket.on("error", (error) => done(`error ${(error as NodeJS.ErrnoException).code}`));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.split("\r\n").length > 2) done(reply);
    });
    socket.connect(port, "127.0.0.1", () => {
      socket.write(Buffer.concat([encodeCommand(["AUTH", password]), encodeCommand(["PING"])]));
    });
  });
}

// A directory left by a process that no longer exists: the first start sweeps it.
const deadPid = 2 ** 22 + 12345;
const staleDir = join(tmpdir(), `redis-credentials-${deadPid}-stale`);
mkdirSync(staleDir, { recursive: true });

describe("startRedisServer", () => {
  it("starts a password-protected redis-server on a loopback port and stop() leaves nothing behind", async () => {
    const redis = await startRedisServer({ password: "s3cret" });
    expect(existsSync(staleDir)).toBe(false);
    expect(redis.host).toBe("127.0.0.1");
    expect(await ping(redis.port, "s3cret")).toBe("+OK\r\n+PONG\r\n");
    expect(await ping(redis.port, "wrong")).toMatch(/^-WRONGPASS/);
    expect(isAlive(redis.pid)).toBe(true);
    expect(redis.dir.startsWith(join(tmpdir(), `redis-credentials-${process.pid}-`))).toBe(true);
    await redis.stop();
    await redis.stop();
    expect(isAlive(redis.pid)).toBe(false);
    expect(existsSync(redis.dir)).toBe(false);
    expect(await ping(redis.port, "s3cret")).toBe("error ECONNREFUSED");
  });

  it("pause() makes the server hang until resume()", async () => {
    const redis = await startRedisServer({ password: "pw" });
    try {
      redis.pause();
      const pending = ping(redis.port, "pw", 3000);
      expect(await ping(redis.port, "pw", 300)).toBe("timeout");
      redis.resume();
      expect(await pending).toBe("+OK\r\n+PONG\r\n");
    } finally {
      await redis.stop();
    }
  });

  it("stop() kills a paused server too", async () => {
    const redis = await startRedisServer({ password: "pw" });
    redis.pause();
    await redis.stop();
    expect(isAlive(redis.pid)).toBe(false);
    expect(existsSync(redis.dir)).toBe(false);
  });

  it("restart() brings the server back on the same port and directory", async () => {
    const redis = await startRedisServer({ password: "pw", args: ["--maxclients", "100"] });
    try {
      const { pid, port, dir } = redis;
      await redis.restart();
      expect(redis.pid).not.toBe(pid);
      expect(isAlive(pid)).toBe(false);
      expect(redis.port).toBe(port);
      expect(redis.dir).toBe(dir);
      expect(existsSync(dir)).toBe(true);
      expect(await ping(port, "pw")).toBe("+OK\r\n+PONG\r\n");
    } finally {
      await redis.stop();
    }
  });

  it("listens on the port it is given", async () => {
    const first = await startRedisServer({ password: "pw" });
    const port = first.port;
    await first.stop();
    const second = await startRedisServer({ password: "pw", port });
    try {
      expect(second.port).toBe(port);
      expect(await ping(port, "pw")).toBe("+OK\r\n+PONG\r\n");
    } finally {
      await second.stop();
    }
  });

  it("fails with the server's log when it cannot start, leaving nothing behind", async () => {
    const taken = await startRedisServer({ password: "pw" });
    try {
      const error = await startRedisServer({ password: "pw", port: taken.port }).catch((e) => e);
      expect(error).toBeInstanceOf(RedisServerStartError);
      expect(error.message).toMatch(/Address already in use/);
      const bad = await startRedisServer({ password: "pw", args: ["--no-such-option", "1"] }).catch(
        (e) => e,
      );
      expect(bad).toBeInstanceOf(RedisServerStartError);
      expect(bad.message).toMatch(/Bad directive/);
    } finally {
      await taken.stop();
    }
  });

  it("names how to install redis-server when it is not on PATH", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const error = await startRedisServer({ password: "pw" }).catch((e) => e);
      expect(error).toBeInstanceOf(RedisServerNotFoundError);
      expect(error).toBeInstanceOf(CredentialsError);
      expect(error.message).toMatch(/apt-get install redis-server/);
      expect(error.message).toMatch(/brew install redis/);
    } finally {
      process.env.PATH = path;
    }
  });

  it("the server dies with its parent, even when the parent is SIGKILLed", async () => {
    const child = spawn(process.execPath, [join(__dirname, "redis-process-child.cjs"), "process"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const started = await new Promise<{ pid: number; dir: string; port: number }>(
      (resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk) => {
          out += chunk.toString();
          if (out.includes("\n")) resolve(JSON.parse(out));
        });
        child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
      },
    );
    expect(isAlive(started.pid)).toBe(true);
    expect(await ping(started.port, "child-secret")).toBe("+OK\r\n+PONG\r\n");
    child.kill("SIGKILL");
    await eventually(() => !isAlive(started.pid));
    await eventually(() => !existsSync(started.dir));
    expect(await ping(started.port, "child-secret")).toBe("error ECONNREFUSED");
  });
});
