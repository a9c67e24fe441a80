import { type IdentityEmulator, startIdentityEmulator } from "../../src/identity-emulator";
import { encodeCommand } from "../../src/resp";
import { newId } from "../../src/token-issuer";
import { startTokenRedis, type TokenRedis } from "../../src/token-redis";
import { presign } from "../aws-presign";
import { NOAUTH, plain, RawClient } from "./token-redis-helpers";

// ACL WHOAMI answers the user of the token the connection last authenticated with, as Azure
// (the object id), ElastiCache and MemoryDB (the user id) and Memorystore (the principal) answer
// it, and not Redis's own `default`, the one user the servers behind the proxy have.

const AWS = {
  credentials: { accessKeyId: "AKIAWHOAMITESTKEY001", secretAccessKey: "whoami/secret+key" },
  region: "eu-west-1",
  cacheName: "whoami-cache",
  userId: "whoami-user-01",
};

let idp: IdentityEmulator;
let entra: TokenRedis;
let aws: TokenRedis;
let gcp: TokenRedis;
let cluster: TokenRedis;

beforeAll(async () => {
  idp = await startIdentityEmulator();
  [entra, aws, gcp, cluster] = await Promise.all([
    startTokenRedis({ identity: idp }),
    startTokenRedis({ aws: AWS }),
    startTokenRedis({ identity: idp, gcp: {} }),
    startTokenRedis({ identity: idp, cluster: { masters: 3 } }),
  ]);
}, 60_000);
afterAll(() =>
  Promise.all([entra?.stop(), aws?.stop(), gcp?.stop(), cluster?.stop(), idp?.stop()]),
);

const clients: RawClient[] = [];
async function connect(redis: TokenRedis, port = redis.port) {
  const client = await RawClient.connect(port, { ca: redis.ca as string });
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

const whoami = async (client: RawClient) => plain(await client.command("ACL", "WHOAMI"));

describe("ACL WHOAMI on the token-enforcing Redis", () => {
  test("Entra ID: the token's oid, and the new one after a re-AUTH as another identity", async () => {
    const first = newId();
    const second = newId();
    const client = await connect(entra);
    expect(await whoami(client)).toEqual({ error: NOAUTH });
    await client.command("AUTH", first, idp.issueToken({ objectId: first }));
    expect(await whoami(client)).toBe(first);
    await client.command("AUTH", second, idp.issueToken({ objectId: second }));
    expect(await whoami(client)).toBe(second);
    // A refused AUTH leaves the connection as it was, as Redis does.
    await client.command("AUTH", first, idp.issueToken({ objectId: second }));
    expect(await whoami(client)).toBe(second);
  });

  test("pipelined behind the AUTH, over HELLO 3 (RESP3), and in lower case", async () => {
    const user = newId();
    const client = await connect(entra);
    client.write(
      Buffer.concat([
        encodeCommand(["HELLO", "3", "AUTH", user, idp.issueToken({ objectId: user })]),
        encodeCommand(["acl", "whoami"]),
        encodeCommand(["PING"]),
      ]),
    );
    expect(plain(await client.next())).toMatchObject({ proto: 3 });
    expect(plain(await client.next())).toBe(user);
    expect(plain(await client.next())).toBe("PONG");
  });

  test("inside MULTI, QUEUED stands: only the direct reply is the token's user", async () => {
    const user = newId();
    const client = await connect(entra);
    await client.command("AUTH", user, idp.issueToken({ objectId: user }));
    expect(plain(await client.command("MULTI"))).toBe("OK");
    expect(plain(await client.command("ACL", "WHOAMI"))).toBe("QUEUED");
    expect(plain(await client.command("EXEC"))).toHaveLength(1);
    expect(await whoami(client)).toBe(user); // and the connection still follows its replies
  });

  test("AWS mode: the user id", async () => {
    const client = await connect(aws);
    await client.command("AUTH", AWS.userId, await presign(AWS));
    expect(await whoami(client)).toBe(AWS.userId);
  });

  test("Google Cloud mode: the service account, though the AUTH user is `default`", async () => {
    const client = await connect(gcp);
    await client.command("AUTH", "default", idp.issueGoogleAccessToken());
    expect(await whoami(client)).toBe(idp.googleServiceAccount);
  });

  test("every node of a cluster", async () => {
    const user = newId();
    for (const node of cluster.nodes) {
      const client = await connect(cluster, node.port);
      await client.command("AUTH", user, idp.issueToken({ objectId: user }));
      expect(await whoami(client)).toBe(user);
    }
  });
});
