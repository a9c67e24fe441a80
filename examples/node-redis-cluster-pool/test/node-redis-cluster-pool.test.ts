import { ClientSecretCredential } from "@azure/identity";
import {
  type IdentityEmulator,
  startIdentityEmulator,
  startTokenRedis,
  type TokenRedis,
} from "@redis-credentials/testing";
import { connectRedis, type RedisClients } from "../src/redis-clients";

// The clients as they run on Azure, on this machine: a real ClientSecretCredential gets tokens
// from the local identity emulator, and a 3-shard cluster and a single server (over TLS) close
// any connection whose token has expired. Tokens live 4 s: a rotation about every 2 s.
const TOKEN_LIFETIME_MS = 4_000;
const ROTATIONS = 3;

let idp: IdentityEmulator;
let cluster: TokenRedis;
let standalone: TokenRedis;
let clients: RedisClients | undefined;

beforeAll(async () => {
  idp = await startIdentityEmulator({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  [cluster, standalone] = await Promise.all([
    startTokenRedis({ identity: idp, cluster: { masters: 3 } }),
    startTokenRedis({ identity: idp }),
  ]);
});

afterAll(async () => {
  await clients?.close();
  await Promise.all([cluster?.stop(), standalone?.stop()]);
  await idp?.stop();
});

/** The connections of `user` to both servers, by server and id, with how often each authenticated. */
function authsByConnection(user: string): Map<string, number> {
  const connections = [cluster, standalone].flatMap((server, index) =>
    server
      .connections()
      .filter((connection) => connection.user === user)
      .map(({ id, authSuccesses }) => [`${index}:${id}`, authSuccesses] as const),
  );
  return new Map(connections);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("cluster and pool commands all succeed across token rotations", async () => {
  const app = idp.registerClient();
  const logged = jest.spyOn(console, "error");
  clients = await connectRedis({
    credential: new ClientSecretCredential(idp.tenantId, app.clientId, app.clientSecret as string, {
      authorityHost: idp.authorityHost,
      disableInstanceDiscovery: true, // else MSAL asks login.microsoftonline.com about the host
      tlsOptions: { ca: idp.ca }, // trust the emulator, for this credential only
    }),
    cluster: { host: cluster.host, port: cluster.port, ca: cluster.ca },
    standalone: { host: standalone.host, port: standalone.port, ca: standalone.ca },
    poolSize: 3,
    // Sized for 4-second tokens: refresh 2 s before expiry, spread the re-AUTHs over 200 ms.
    tokenManager: {
      refreshBeforeExpiryMs: 2_000,
      minRefreshIntervalMs: 200,
      refreshJitterMs: 200,
      reauthSpreadMs: 200,
    },
  });
  const { cluster: client, pool } = clients;
  // One connection per shard, and the pool's three.
  const opened = authsByConnection(app.objectId);
  expect(opened.size).toBe(6);

  // Four loops at once (so the pool lends out every member) until every connection has
  // re-authenticated ROTATIONS times: the handshake, then one AUTH per new token.
  const deadline = Date.now() + 15_000;
  const rotated = () =>
    [...opened.keys()].every((id) => (authsByConnection(app.objectId).get(id) ?? 0) > ROTATIONS);
  const failures: string[] = [];
  /** Returns how many INCRs succeeded. */
  const loop = async (n: number) => {
    let increments = 0;
    for (let i = 0; !rotated() && Date.now() < deadline; i++) {
      try {
        const views = await client.incr(`views:${n}:${i % 16}`); // keys on every shard
        increments++;
        await pool.set(`last-visit:${n}`, String(views));
        if ((await pool.get(`last-visit:${n}`)) !== String(views)) failures.push(`${n}/${i}: read`);
      } catch (error) {
        failures.push(`${n}/${i}: ${error}`);
      }
      await sleep(10);
    }
    return increments;
  };
  const increments = await Promise.all([0, 1, 2, 3].map(loop));

  expect(rotated()).toBe(true);
  expect(failures).toEqual([]);
  expect(logged).not.toHaveBeenCalled(); // no error reached the clients' error events
  // Every write landed once: each loop's 16 counters add up to its increments.
  for (const [n, count] of increments.entries()) {
    const values = await Promise.all(
      Array.from({ length: 16 }, (_, k) => client.get(`views:${n}:${k}`)),
    );
    expect(values.reduce((sum, value) => sum + Number(value), 0)).toBe(count);
  }
  // No connection outlived its token: Redis never had to close one.
  for (const server of [cluster, standalone]) {
    expect(server.stats().closedAtExpiry).toBe(0);
    expect(server.stats().authRejected).toEqual({});
  }
  logged.mockRestore();
});
