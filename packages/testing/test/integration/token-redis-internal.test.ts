import { randomBytes } from "node:crypto";
import { type RedisProcess, startRedisServer } from "../../src/redis-process";
import { createTokenIssuer, newId } from "../../src/token-issuer";
import { createTokenProxy, type TokenProxy } from "../../src/token-proxy";
import { expiryOf, plain, RawClient, WRONGPASS } from "./token-redis-helpers";

// The proxy on its own, in front of a server whose password the test knows: what a cluster's
// replicas do when they replicate through their master's proxy.
const issuer = createTokenIssuer();
const user = newId();
const password = randomBytes(24).toString("hex");
let server: RedisProcess;
let internal: TokenProxy;
let strict: TokenProxy;

beforeAll(async () => {
  server = await startRedisServer({ password });
  const options = { upstreamPort: server.port, upstreamPassword: password, identity: issuer };
  internal = await createTokenProxy({ ...options, internalAuth: true });
  strict = await createTokenProxy(options);
}, 20_000);
afterAll(async () => {
  await Promise.all([internal?.close(), strict?.close()]);
  await server?.stop();
});

const clients: RawClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function connect(proxy: TokenProxy) {
  const client = await RawClient.connect(proxy.port);
  clients.push(client);
  return client;
}

describe("createTokenProxy: internal connections", () => {
  it("lets the servers' own password through, outside counters, lists and killConnections", async () => {
    const auth = await connect(internal);
    expect(plain(await auth.command("PING"))).toEqual({ error: "NOAUTH Authentication required." });
    expect(plain(await auth.command("AUTH", password))).toBe("OK");
    const hello = await connect(internal);
    expect((await hello.command("HELLO", "3", "AUTH", "default", password)).type).toBe("map");
    expect(plain(await hello.command("SET", "internal", "yes"))).toBe("OK");
    expect(plain(await auth.command("GET", "internal"))).toBe("yes");

    expect(internal.connections()).toEqual([]);
    expect(internal.stats.snapshot()).toMatchObject({
      authAttempts: 0,
      authSuccesses: 0,
      authRejected: {},
      connections: 0,
      connectionsByUser: {},
      perConnection: [],
      perSecond: [],
    });
    expect(internal.killConnections()).toBe(0);
    // A client next to them is counted and killed as usual.
    const client = await connect(internal);
    expect(plain(await client.command("AUTH", user, issuer.issueToken({ objectId: user })))).toBe(
      "OK",
    );
    expect(internal.connections().map((connection) => connection.user)).toEqual([user]);
    expect(internal.stats.snapshot()).toMatchObject({ authAttempts: 1, connections: 1 });
    expect(internal.killConnections()).toBe(1);
    await client.closed;
    expect(plain(await auth.command("PING"))).toBe("PONG");
    expect(plain(await hello.command("PING"))).toBe("PONG");
  });

  it("is a malformed token without internalAuth", async () => {
    const client = await connect(strict);
    expect(plain(await client.command("AUTH", password))).toEqual({ error: WRONGPASS });
    expect(plain(await client.command("HELLO", "3", "AUTH", "default", password))).toEqual({
      error: WRONGPASS,
    });
    expect(strict.stats.snapshot()).toMatchObject({
      authAttempts: 2,
      authRejected: { malformed: 2 },
      connections: 1,
    });
  });

  it("never waits for a reply to REPLCONF ACK, which Redis never sends", async () => {
    const client = await connect(strict);
    const first = issuer.issueToken({ objectId: user, lifetimeMs: 60_000 });
    const second = issuer.issueToken({ objectId: user, lifetimeMs: 120_000 });
    expect(plain(await client.command("AUTH", user, first))).toBe("OK");
    for (let i = 0; i < 3; i++) client.write("*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n0\r\n");
    // Had the ACKs been waiting for replies, this +OK would be taken for the first one's.
    expect(plain(await client.command("AUTH", user, second))).toBe("OK");
    const [connection] = strict.connections();
    expect(connection?.expiresAt).toBe(expiryOf(second));
    expect(connection?.authSuccesses).toBe(2);
  });

  it("close() ends internal connections too", async () => {
    const proxy = await createTokenProxy({
      upstreamPort: server.port,
      upstreamPassword: password,
      identity: issuer,
      internalAuth: true,
    });
    const own = await connect(proxy);
    expect(plain(await own.command("AUTH", password))).toBe("OK");
    await proxy.close();
    await own.closed;
  });
});
