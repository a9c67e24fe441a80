import { randomBytes } from "node:crypto";
import { encodeCommand } from "../../src/resp";
import { createTokenIssuer, newId } from "../../src/token-issuer";
import type { TokenVerifier } from "../../src/token-proxy";
import { startTokenRedis, type TokenRedis } from "../../src/token-redis";
import { eventually, plain, RawClient, WRONGPASS } from "./token-redis-helpers";

// The proxy's error replies, whoever the verifier: a refusal that carries `errorReply` is answered
// with that error in WRONGPASS's place, in order among pipelined replies, whatever comes around it
// (large replies split over many chunks, RESP3, MULTI, CLIENT REPLY OFF, MONITOR). GCP mode's
// ERR_IAM_EXHAUSTED is one such refusal.

const issuer = createTokenIssuer();
const user = newId();
const valid = () => issuer.issueToken({ objectId: user, lifetimeMs: 60_000 });
/** The password this verifier refuses with an error of its own. */
const REFUSE = "refuse-with-an-error";
// A CR LF inside would end the RESP line early: the proxy sends it as a space.
const verifier: TokenVerifier = {
  verifyToken: (token, options) =>
    token === REFUSE
      ? {
          ok: false,
          reason: "custom",
          errorReply: { code: "ERR_CUSTOM", message: "refused\r\nby the verifier" },
        }
      : issuer.verifyToken(token, options),
};
const CUSTOM_ERROR = { error: "ERR_CUSTOM refused by the verifier" };

/** 1 MiB: its reply reaches the proxy in many chunks. */
const BIG = randomBytes(512 * 1024).toString("hex");

let redis: TokenRedis;
beforeAll(async () => {
  redis = await startTokenRedis({ identity: verifier, tls: false });
  const setup = await RawClient.connect(redis.port);
  await setup.command("AUTH", user, valid());
  await setup.command("SET", "big", BIG);
  setup.close();
});
afterAll(() => redis?.stop());

const connections: RawClient[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.close();
});

async function authenticated(): Promise<RawClient> {
  const connection = await RawClient.connect(redis.port);
  connections.push(connection);
  expect(plain(await connection.command("AUTH", user, valid()))).toBe("OK");
  return connection;
}

/** Sends the commands in one write, and reads as many replies. */
async function pipeline(connection: RawClient, commands: string[][], timeoutMs = 5_000) {
  connection.write(Buffer.concat(commands.map((command) => encodeCommand(command))));
  const replies = [];
  for (const _ of commands) replies.push(plain(await connection.next(timeoutMs)));
  return replies;
}

describe("a verifier's error reply in WRONGPASS's place", () => {
  it("keeps every reply in order, byte for byte, around large replies", async () => {
    const before = redis.stats();
    const connection = await authenticated();
    const replies = await pipeline(connection, [
      ["GET", "big"],
      ["AUTH", user, REFUSE],
      ["GET", "big"],
      ["AUTH", REFUSE],
      ["PING"],
      ["AUTH", user, valid()],
      ["GET", "big"],
      ["ECHO", "last"],
    ]);
    expect(replies).toEqual([BIG, CUSTOM_ERROR, BIG, CUSTOM_ERROR, "PONG", "OK", BIG, "last"]);
    const after = redis.stats();
    expect(after.authErrorReplies.ERR_CUSTOM! - (before.authErrorReplies.ERR_CUSTOM ?? 0)).toBe(2);
    expect(after.authRejected).toEqual(before.authRejected);
    expect(after.iamExhausted).toBe(0);
  });

  it("a swap due while a large reply is half sent: the rest of that reply, then the error", async () => {
    const connection = await authenticated();
    const huge = "x".repeat(24 * 1024 * 1024);
    expect(plain(await connection.command("SET", "huge", huge))).toBe("OK");
    // The client stops reading: the proxy sends what the sockets take of the reply, then waits.
    connection.socket.pause();
    connection.write(encodeCommand(["GET", "huge"]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    connection.write(Buffer.concat([encodeCommand(["AUTH", REFUSE]), encodeCommand(["PING"])]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    connection.socket.resume();
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(plain(await connection.next(10_000)));
    expect(replies[0] === huge).toBe(true);
    expect(replies.slice(1)).toEqual([CUSTOM_ERROR, "PONG"]);
    await connection.command("DEL", "huge");
  });

  it("many swaps interleaved with large replies, on a new connection before any AUTH", async () => {
    const connection = await RawClient.connect(redis.port);
    connections.push(connection);
    const commands: string[][] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      commands.push(["AUTH", REFUSE], ["GET", "big"]);
      expected.push(CUSTOM_ERROR, { error: "NOAUTH Authentication required." });
    }
    commands.push(["AUTH", user, valid()]);
    expected.push("OK");
    for (let i = 0; i < 5; i++) {
      commands.push(["GET", "big"], ["AUTH", REFUSE]);
      expected.push(BIG, CUSTOM_ERROR);
    }
    expect(await pipeline(connection, commands, 10_000)).toEqual(expected);
  });

  it("on RESP3, for AUTH and for HELLO ... AUTH, which leaves the protocol as it was", async () => {
    const connection = await RawClient.connect(redis.port);
    connections.push(connection);
    const [hello, refusedHello, refusedAuth, ping] = await pipeline(connection, [
      ["HELLO", "3", "AUTH", user, valid()],
      ["HELLO", "2", "AUTH", user, REFUSE],
      ["AUTH", REFUSE],
      ["PING"],
    ]);
    expect(hello).toMatchObject({ proto: 3 });
    expect([refusedHello, refusedAuth, ping]).toEqual([CUSTOM_ERROR, CUSTOM_ERROR, "PONG"]);
    // Still RESP3: a map, not a flat array.
    connection.write(encodeCommand(["HELLO"]));
    expect((await connection.next()).type).toBe("map");
  });

  it("inside MULTI the AUTH is QUEUED: Redis's replies stand, and the refusal counts in authRejected", async () => {
    const before = redis.stats();
    const connection = await authenticated();
    const replies = await pipeline(connection, [
      ["MULTI"],
      ["AUTH", user, REFUSE],
      ["PING"],
      ["EXEC"],
    ]);
    expect(replies).toEqual(["OK", "QUEUED", "QUEUED", [{ error: WRONGPASS }, "PONG"]]);
    const after = redis.stats();
    expect(after.authRejected.custom! - (before.authRejected.custom ?? 0)).toBe(1);
    expect(after.authErrorReplies).toEqual(before.authErrorReplies);
  });

  it("with replies switched off there is nothing to swap: counted in authRejected", async () => {
    const before = redis.stats().authRejected.custom ?? 0;
    const connection = await authenticated();
    const commands = [["CLIENT", "REPLY", "SKIP"], ["AUTH", REFUSE], ["AUTH", REFUSE], ["PING"]];
    connection.write(Buffer.concat(commands.map((command) => encodeCommand(command))));
    // SKIP silences itself and the next command: two replies only.
    expect([plain(await connection.next()), plain(await connection.next())]).toEqual([
      CUSTOM_ERROR,
      "PONG",
    ]);
    expect(redis.stats().authRejected.custom! - before).toBe(1);
  });

  it("MONITOR after a swap still forwards the feed", async () => {
    const monitor = await authenticated();
    const [refused, ok] = await pipeline(monitor, [["AUTH", REFUSE], ["MONITOR"]]);
    expect([refused, ok]).toEqual([CUSTOM_ERROR, "OK"]);
    const other = await authenticated();
    await other.command("ECHO", "seen by the monitor");
    const feed: string[] = [];
    await eventually(() => {
      while (monitor.values.length > 0) feed.push(String(plain(monitor.values.shift()!)));
      return feed.some((line) => line.includes('"seen by the monitor"'));
    });
  });
});
