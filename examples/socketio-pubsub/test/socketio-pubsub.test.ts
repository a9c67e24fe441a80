import { ClientSecretCredential } from "@azure/identity";
import {
  type IdentityEmulator,
  type RegisteredClient,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { io, type Socket } from "socket.io-client";
import { type ChatServer, startChatServer } from "../src/chat-server";

// Two instances of the chat server, as two processes behind a load balancer would run on Azure,
// on this machine: real ClientSecretCredentials get tokens from the local identity emulator, and
// Redis (over TLS) closes any connection whose token has expired. Tokens live 4 s: a rotation
// about every 2 s.
const TOKEN_LIFETIME_MS = 4_000;
const ROTATIONS = 3;

let idp: IdentityEmulator;
let redis: TokenRedis;
const servers: ChatServer[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  redis = await startTokenRedis({ identity: idp });
});

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  await Promise.all(servers.map((server) => server.close()));
  await redis?.stop();
  await idp?.stop();
});

/** One server instance, with a manager of its own as in its own process. */
async function startInstance(app: RegisteredClient): Promise<ChatServer> {
  const server = await startChatServer({
    credential: new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret as string, {
      authorityHost: idp.authorityHost,
      disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
      tlsOptions: { ca: idp.ca }, // trust the emulator, for this credential only
    }),
    redis: { host: redis.host, port: redis.port, ca: redis.ca },
    port: 0,
    // Sized for 4-second tokens: refresh 2 s before expiry, spread the re-AUTHs over 200 ms.
    tokenManager: {
      refreshBeforeExpiryMs: 2_000,
      minRefreshIntervalMs: 200,
      refreshJitterMs: 200,
      reauthSpreadMs: 200,
    },
  });
  servers.push(server);
  return server;
}

/** A chat client connected to `server`, recording every message it receives. */
async function connectClient(server: ChatServer) {
  const socket = io(server.url, { transports: ["websocket"] });
  sockets.push(socket);
  const received: string[] = [];
  socket.on("chat", (text: string) => received.push(text));
  await new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(undefined));
    socket.once("connect_error", reject);
  });
  return { socket, received };
}

/** The Redis connections of `user`, by id, with how often each authenticated. */
function authsByConnection(user: string): Map<number, number> {
  const connections = redis.connections().filter((connection) => connection.user === user);
  return new Map(connections.map(({ id, authSuccesses }) => [id, authSuccesses]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("messages between clients of two server instances are all delivered across token rotations", async () => {
  const app = idp.registerClient();
  const [first, second] = await Promise.all([startInstance(app), startInstance(app)]);
  const alice = await connectClient(first as ChatServer);
  const bob = await connectClient(second as ChatServer);
  // Each instance's publishing and subscribing connections.
  const opened = authsByConnection(app.objectId);
  expect(opened.size).toBe(4);

  // Alice and Bob take turns until every connection has re-authenticated ROTATIONS times.
  const sent: string[] = [];
  const deadline = Date.now() + 15_000;
  const rotated = () =>
    [...opened.keys()].every((id) => (authsByConnection(app.objectId).get(id) ?? 0) > ROTATIONS);
  for (let i = 0; !rotated() && Date.now() < deadline; i++) {
    const [sender, name] = i % 2 === 0 ? [alice, "alice"] : [bob, "bob"];
    const text = `${name} #${i}`;
    sender.socket.emit("chat", text);
    sent.push(text);
    await sleep(20);
  }
  const delivered = () =>
    alice.received.length >= sent.length && bob.received.length >= sent.length;
  for (let waited = 0; !delivered() && waited < 5_000; waited += 20) await sleep(20);

  expect(rotated()).toBe(true);
  // Both saw every message, once, each sender's in the order sent: none was lost at a rotation.
  // (Alice's and Bob's messages reach each of them by different paths, so they may interleave
  // differently.)
  for (const client of [alice, bob]) {
    for (const name of ["alice", "bob"]) {
      const from = (texts: string[]) => texts.filter((text) => text.startsWith(name));
      expect(from(client.received)).toEqual(from(sent));
    }
  }
  const stats = redis.stats();
  expect(stats.closedAtExpiry).toBe(0);
  expect(stats.authRejected).toEqual({});
});
