import { CredentialsError } from "@redis-credentials/core";
import { AdminCommandError, connectAdmin, replyText } from "../../src/admin-client";
import { type RedisProcess, startRedisServer } from "../../src/redis-process";

const password = "admin-secret";
let server: RedisProcess;

beforeAll(async () => {
  server = await startRedisServer({ password });
});
afterAll(() => server?.stop());

const connect = (options: { password?: string; timeoutMs?: number } = {}) =>
  connectAdmin({ host: server.host, port: server.port, password, ...options });

describe("connectAdmin", () => {
  it("authenticates and runs commands in order, pipelined", async () => {
    const admin = await connect();
    const replies = await Promise.all([
      admin.command("SET", "a", "1"),
      admin.command("INCR", "a"),
      admin.command("GET", "a"),
    ]);
    expect(replies.map((reply) => reply.value)).toEqual(["OK", 2, Buffer.from("2")]);
    expect(replyText(await admin.command("INFO", "server"))).toMatch(/^redis_version:7\./m);
    admin.close();
    expect(admin.closed).toBe(true);
    await expect(admin.command("PING")).rejects.toThrow("connection to redis-server");
  });

  it("rejects an error reply with the server's error, naming the command but not its arguments", async () => {
    const admin = await connect();
    const failed = admin.command("CONFIG", "SET", "no-such-setting", "secret-value");
    await expect(failed).rejects.toBeInstanceOf(AdminCommandError);
    await expect(failed).rejects.toBeInstanceOf(CredentialsError);
    const error = (await failed.catch((reason) => reason)) as AdminCommandError;
    expect(error.message).toMatch(/^CONFIG SET on redis-server 127\.0\.0\.1:\d+ failed: ERR /);
    expect(error.message).not.toContain("secret-value");
    expect(error.reply).toMatch(/^ERR /);
    // The connection is still usable.
    expect((await admin.command("PING")).value).toBe("PONG");
    admin.close();
  });

  it("rejects a wrong password without showing it", async () => {
    const refused = connect({ password: "wrong-password" });
    await expect(refused).rejects.toThrow(/^AUTH on redis-server .* failed: WRONGPASS/);
    await expect(refused).rejects.not.toThrow("wrong-password");
  });

  it("rejects when nothing listens", async () => {
    await expect(connectAdmin({ host: "127.0.0.1", port: 1, password })).rejects.toThrow(
      /Connection to redis-server 127\.0\.0\.1:1 failed: .*ECONNREFUSED/,
    );
  });

  it("gives up on a hung server after timeoutMs and closes the connection", async () => {
    const admin = await connect({ timeoutMs: 200 });
    server.pause();
    try {
      await expect(admin.command("PING")).rejects.toThrow("PING on redis-server");
      expect(admin.closed).toBe(true);
    } finally {
      server.resume();
    }
  });
});
