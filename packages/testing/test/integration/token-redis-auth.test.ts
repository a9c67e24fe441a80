import { InvalidOptionsError } from "@redis-credentials/core";
import Redis from "ioredis";
import { createClient } from "redis";
import { startIdentityEmulator } from "../../src/identity-emulator";
import { createTokenIssuer, newId } from "../../src/token-issuer";
import { startTokenRedis, type TokenRedis } from "../../src/token-redis";
import { NOAUTH, plain, RawClient, WRONGPASS } from "./token-redis-helpers";

const issuer = createTokenIssuer();
const other = createTokenIssuer();
const user = newId();
let redis: TokenRedis;

beforeAll(async () => {
  redis = await startTokenRedis({ identity: issuer, tls: false });
});
afterAll(() => redis.stop());

const clients: RawClient[] = [];
async function raw() {
  const client = await RawClient.connect(redis.port);
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

/** Every kind of bad token, with the reason the server counts it under. */
const badTokens: [string, () => { user: string; token: string }][] = [
  ["expired", () => ({ user, token: issuer.issueToken({ objectId: user, lifetimeMs: -5000 }) })],
  [
    "not-yet-valid",
    () => ({ user, token: issuer.issueToken({ objectId: user, notBefore: Date.now() + 60_000 }) }),
  ],
  [
    "audience",
    () => ({
      user,
      token: issuer.issueToken({ objectId: user, audience: "https://storage.azure.com" }),
    }),
  ],
  ["signature", () => ({ user, token: other.issueToken({ objectId: user }) })],
  ["user", () => ({ user: newId(), token: issuer.issueToken({ objectId: user }) })],
  ["malformed", () => ({ user, token: "not-a-jwt" })],
];

describe("startTokenRedis: authentication", () => {
  it("accepts a valid token over AUTH (RESP2) and then runs commands", async () => {
    const client = await raw();
    expect(plain(await client.command("GET", "k"))).toEqual({ error: NOAUTH });
    expect(plain(await client.command("AUTH", user, issuer.issueToken({ objectId: user })))).toBe(
      "OK",
    );
    expect(plain(await client.command("SET", "k", "v"))).toBe("OK");
    expect(plain(await client.command("GET", "k"))).toBe("v");
    expect(redis.connections().find((c) => c.clientPort === client.socket.localPort)?.user).toBe(
      user,
    );
  });

  it("accepts a valid token over HELLO 3 AUTH and speaks RESP3", async () => {
    const client = await raw();
    const token = issuer.issueToken({ objectId: user });
    const hello = await client.command("HELLO", "3", "AUTH", user, token, "SETNAME", "app");
    expect(hello.type).toBe("map");
    expect(plain(hello)).toMatchObject({ server: "redis", proto: 3 });
    expect(plain(await client.command("CLIENT", "GETNAME"))).toBe("app");
    expect((await client.command("HGETALL", "nothing")).type).toBe("map");
  });

  it("accepts HELLO 2 AUTH and an inline AUTH, as redis-cli and telnet send them", async () => {
    const client = await raw();
    expect(
      (await client.command("HELLO", "2", "AUTH", user, issuer.issueToken({ objectId: user })))
        .type,
    ).toBe("array");
    const inline = await raw();
    inline.write(`AUTH ${user} ${issuer.issueToken({ objectId: user })}\r\nPING\r\n`);
    expect(plain(await inline.next())).toBe("OK");
    expect(plain(await inline.next())).toBe("PONG");
  });

  it.each(badTokens)(
    "refuses a %s token over AUTH and over HELLO with WRONGPASS",
    async (reason, make) => {
      const before = redis.stats().authRejected[reason] ?? 0;
      const client = await raw();
      const { user: name, token } = make();
      expect(plain(await client.command("AUTH", name, token))).toEqual({ error: WRONGPASS });
      expect(plain(await client.command("HELLO", "3", "AUTH", name, token))).toEqual({
        error: WRONGPASS,
      });
      expect(plain(await client.command("GET", "k"))).toEqual({ error: NOAUTH });
      expect(redis.stats().authRejected[reason]).toBe(before + 2);
    },
  );

  it("refuses AUTH <token> without a user name: the default user is not the token's oid", async () => {
    const client = await raw();
    expect(plain(await client.command("AUTH", issuer.issueToken({ objectId: user })))).toEqual({
      error: WRONGPASS,
    });
  });

  it("keeps a connection authenticated after a failed re-AUTH, as Redis does", async () => {
    const client = await raw();
    const token = issuer.issueToken({ objectId: user });
    await client.command("AUTH", user, token);
    const expiresAt = redis
      .connections()
      .find((c) => c.clientPort === client.socket.localPort)?.expiresAt;
    expect(plain(await client.command("AUTH", user, other.issueToken({ objectId: user })))).toEqual(
      { error: WRONGPASS },
    );
    expect(plain(await client.command("PING"))).toBe("PONG");
    expect(
      redis.connections().find((c) => c.clientPort === client.socket.localPort)?.expiresAt,
    ).toBe(expiresAt);
  });

  it("answers NOAUTH to commands before authentication, in RESP2 and after HELLO 3", async () => {
    const client = await raw();
    expect(plain(await client.command("PING"))).toEqual({ error: NOAUTH });
    expect(plain(await client.command("SUBSCRIBE", "ch"))).toEqual({ error: NOAUTH });
    // Redis's own wording for HELLO: NOAUTH HELLO must be called with the client already authenticated...
    expect(plain(await client.command("HELLO", "3"))).toEqual({
      error: expect.stringMatching(/^NOAUTH HELLO/),
    });
    expect(plain(await client.command("PING"))).toEqual({ error: NOAUTH });
    expect(plain(await client.command("AUTH", user, issuer.issueToken({ objectId: user })))).toBe(
      "OK",
    );
    expect(plain(await client.command("PING"))).toBe("PONG");
  });

  it("authenticates upstream as the default user: tokens and user names never reach redis-server", async () => {
    const client = await raw();
    await client.command("AUTH", user, "bad-token-value");
    await client.command("AUTH", user, issuer.issueToken({ objectId: user }));
    const log = JSON.stringify(plain(await client.command("ACL", "LOG")));
    expect(log).not.toContain("bad-token-value");
    expect(log).not.toContain(user);
  });

  it("counts attempts, successes and rejections", async () => {
    const before = redis.stats();
    const client = await raw();
    await client.command("AUTH", user, "nope");
    await client.command("AUTH", user, issuer.issueToken({ objectId: user }));
    await client.command("HELLO", "3", "AUTH", user, issuer.issueToken({ objectId: user }));
    const after = redis.stats();
    expect(after.authAttempts - before.authAttempts).toBe(3);
    expect(after.authSuccesses - before.authSuccesses).toBe(2);
    expect(after.authRejected.malformed! - (before.authRejected.malformed ?? 0)).toBe(1);
    expect(after.connectionsByUser[user]).toBeGreaterThanOrEqual(1);
    const mine = after.perConnection.find((c) => c.clientPort === client.socket.localPort);
    expect(mine).toMatchObject({ user, authAttempts: 3, authSuccesses: 2, port: redis.port });
    const second = Math.floor(Date.now() / 1000);
    const recent = after.perSecond.filter((s) => s.second >= second - 2);
    expect(recent.reduce((sum, s) => sum + s.authSuccesses, 0)).toBeGreaterThanOrEqual(2);
  });

  it("works with ioredis over RESP3 and RESP2, and reports a bad token as WRONGPASS", async () => {
    for (const protocol of [3, 2] as const) {
      const client = new Redis({
        host: redis.host,
        port: redis.port,
        protocol,
        username: user,
        password: issuer.issueToken({ objectId: user }),
        lazyConnect: true,
      });
      await client.connect();
      await client.set(`io${protocol}`, "x");
      expect(await client.get(`io${protocol}`)).toBe("x");
      client.disconnect();
    }
    const bad = new Redis({
      host: redis.host,
      port: redis.port,
      username: user,
      password: other.issueToken({ objectId: user }),
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    const errors: Error[] = [];
    bad.on("error", (error) => errors.push(error));
    await expect(bad.connect()).rejects.toThrow();
    expect(errors.map((error) => error.message)).toContain(WRONGPASS);
    bad.disconnect();
  });

  it("works with node-redis over RESP3 and RESP2, and reports a bad token as WRONGPASS", async () => {
    for (const RESP of [3, 2] as const) {
      const client = createClient({
        socket: { host: redis.host, port: redis.port, reconnectStrategy: false },
        username: user,
        password: issuer.issueToken({ objectId: user }),
        RESP,
      });
      await client.connect();
      await client.set(`node${RESP}`, "y");
      expect(await client.get(`node${RESP}`)).toBe("y");
      client.destroy();
    }
    const bad = createClient({
      socket: { host: redis.host, port: redis.port, reconnectStrategy: false },
      username: newId(),
      password: issuer.issueToken({ objectId: user }),
    });
    bad.on("error", () => {});
    await expect(bad.connect()).rejects.toThrow(/WRONGPASS/);
    bad.destroy();
  });

  it("enforces tokens issued by the identity emulator", async () => {
    await using idp = await startIdentityEmulator();
    await using emulated = await startTokenRedis({ identity: idp, tls: false });
    const client = await RawClient.connect(emulated.port);
    clients.push(client);
    expect(plain(await client.command("AUTH", user, idp.issueToken({ objectId: user })))).toBe(
      "OK",
    );
    expect(
      plain(await client.command("AUTH", user, issuer.issueToken({ objectId: user }))),
    ).toEqual({ error: WRONGPASS });
    expect(emulated.stats().authRejected).toEqual({ signature: 1 });
  });

  it("rejects options without a token verifier", async () => {
    await expect(startTokenRedis({} as never)).rejects.toThrow(InvalidOptionsError);
    await expect(startTokenRedis({ identity: {} } as never)).rejects.toThrow(/identity/);
  });
});
