import { randomBytes, randomUUID } from "node:crypto";
import { inspect } from "node:util";
import { CredentialSourceError, CredentialsFetchError } from "@redis-credentials/core";
import {
  startTokenRedis,
  type TokenRedis,
  type TokenVerifier,
  type VerifierResult,
} from "@redis-credentials/testing";
import nock from "nock";
import { connectRedis } from "../src/redis-client";
import { vaultDatabaseCredentials } from "../src/vault-database-credentials";

// Vault's HTTP API is stubbed with nock; Redis is real, behind the token-enforcing proxy over TLS,
// with a verifier that accepts the users the stub leased, as Vault's database secrets engine
// creates them, and closes a connection when its user's lease ends, as Vault's revocation
// (ACL DELUSER) does. Leases last 4 s: a new user about every 2 s.
const VAULT = "https://vault.example.test:8200";
const VAULT_TOKEN = `hvs.${randomBytes(18).toString("base64url")}`;
const ROLE = "cache-app";
const LEASE_SECONDS = 4;
const FAST = {
  refreshBeforeExpiryMs: 2_000,
  minRefreshIntervalMs: 200,
  refreshJitterMs: 200,
  reauthSpreadMs: 200,
};

interface Leased {
  username: string;
  password: string;
  expiresAt: number;
}

/** The Redis users Vault leased: valid until their lease ends. */
class LeasedUsers implements TokenVerifier {
  readonly leases: Leased[] = [];

  lease(): Leased {
    const lease = {
      username: `v-token-${ROLE}-${randomUUID().slice(0, 8)}`,
      password: randomBytes(24).toString("base64url"),
      expiresAt: Date.now() + LEASE_SECONDS * 1_000,
    };
    this.leases.push(lease);
    return lease;
  }

  verifyToken(password: string, options?: { user?: string }): VerifierResult {
    const lease = this.leases.find(({ username }) => username === options?.user);
    if (lease === undefined) return { ok: false, reason: "user" };
    if (lease.password !== password) return { ok: false, reason: "password" };
    if (Date.now() >= lease.expiresAt) return { ok: false, reason: "expired" };
    // The connection is closed when the lease ends, unless it authenticates as a newer user.
    return { ok: true, claims: { oid: lease.username, exp: lease.expiresAt / 1_000 } };
  }
}

let users: LeasedUsers;
let redis: TokenRedis;
const closers: (() => Promise<void>)[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
  users = new LeasedUsers();
  redis = await startTokenRedis({ identity: users });
});

beforeEach(() => {
  // GET /v1/database/creds/<role>, with the right token: a new user per request.
  nock(VAULT)
    .persist()
    .get(`/v1/database/creds/${ROLE}`)
    .matchHeader("x-vault-token", VAULT_TOKEN)
    .reply(200, () => {
      const { username, password } = users.lease();
      const lease_id = `database/creds/${ROLE}/${randomUUID()}`;
      return {
        lease_id,
        lease_duration: LEASE_SECONDS,
        renewable: true,
        data: { username, password },
      };
    });
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  nock.cleanAll();
  // Each test counts its own connections: wait for the server to see the last one close.
  for (let waited = 0; redis.connections().length > 0 && waited < 2_000; waited += 20) {
    await sleep(20);
  }
});

afterAll(async () => {
  nock.enableNetConnect();
  await redis?.stop();
});

async function connect() {
  const client = await connectRedis({
    vault: { address: VAULT, token: VAULT_TOKEN, role: ROLE },
    redis: { host: redis.host, port: redis.port, ca: redis.ca },
    tokenManager: FAST,
  });
  closers.push(client.close);
  return client;
}

const newest = () => users.leases.at(-1)?.username;

/** Waits until every connection is authenticated as the newest leased user. */
async function untilAllOnNewestUser() {
  for (let waited = 0; waited < 3_000; waited += 20) {
    const connections = redis.connections();
    if (connections.length > 0 && connections.every(({ user }) => user === newest())) return;
    await sleep(20);
  }
}

test("the live connection switches to each newly leased user, and commands never fail", async () => {
  const leasedBefore = users.leases.length;
  const { redis: client } = await connect();
  const [opened] = redis.connections();
  expect(opened?.user).toBe(newest());

  // INCRs go on until the connection has authenticated as 4 users: the first, then 3 more.
  const deadline = Date.now() + 15_000;
  const authentications = () =>
    redis.connections().find(({ id }) => id === opened?.id)?.authSuccesses ?? 0;
  let incremented = 0;
  while (authentications() < 4 && Date.now() < deadline) {
    expect(await client.incr("visits")).toBe(++incremented);
    await sleep(20);
  }
  await untilAllOnNewestUser();

  expect(authentications()).toBeGreaterThanOrEqual(4);
  const leased = users.leases.slice(leasedBefore);
  expect(leased.length).toBeGreaterThanOrEqual(4);
  expect(new Set(leased.map(({ username }) => username)).size).toBe(leased.length);
  // Still the connection it opened with, now authenticated as the newest user.
  expect(redis.connections().map(({ id, user }) => ({ id, user }))).toEqual([
    { id: opened?.id, user: newest() },
  ]);
  expect(redis.stats().closedAtExpiry).toBe(0); // no lease ended under a connection
  expect(redis.stats().authRejected).toEqual({});
});

test("a reconnect after a new lease authenticates as the new user", async () => {
  const leasedBefore = users.leases.length;
  const { redis: client } = await connect();
  for (let waited = 0; users.leases.length < leasedBefore + 2 && waited < 5_000; waited += 20) {
    await sleep(20);
  }
  expect(users.leases.length).toBeGreaterThanOrEqual(leasedBefore + 2);
  await untilAllOnNewestUser();

  expect(redis.killConnections()).toBe(1); // as a server restart or a network blip would
  expect(await client.set("greeting", "hello")).toBe("OK");
  await untilAllOnNewestUser();
  expect(redis.connections().map(({ user }) => user)).toEqual([newest()]);
  expect(redis.stats().authRejected).toEqual({});
});

test("the credentials carry the lease's expiry and hide the password", async () => {
  const source = vaultDatabaseCredentials({ address: VAULT, token: VAULT_TOKEN, role: ROLE });
  const before = Date.now();
  const credentials = await source.fetch({
    signal: new AbortController().signal,
    reason: "initial",
  });
  const lease = users.leases.at(-1) as Leased;

  expect(credentials.username).toBe(lease.username);
  expect(credentials.password === lease.password).toBe(true);
  expect(credentials.expiresAt).toBeGreaterThanOrEqual(before + LEASE_SECONDS * 1_000);
  expect(credentials.expiresAt).toBeLessThanOrEqual(lease.expiresAt);
  for (const shown of [inspect(credentials), JSON.stringify(credentials), String(credentials)]) {
    expect(shown.includes(lease.password)).toBe(false);
  }
  expect(source.name).toBe(`vault:database/creds/${ROLE}`);
});

test("a token Vault refuses fails the connect at once, with the remedy and without the token", async () => {
  nock.cleanAll();
  const refused = nock(VAULT)
    .get(`/v1/database/creds/${ROLE}`)
    .reply(403, { errors: ["permission denied"] });
  const authAttempts = redis.stats().authAttempts;

  const failure = await connect().catch((error: unknown) => error);

  expect(failure).toBeInstanceOf(CredentialsFetchError);
  const cause = (failure as Error).cause;
  expect(cause).toBeInstanceOf(CredentialSourceError);
  expect(cause).toMatchObject({ status: 403, retryable: false });
  expect((cause as Error).message).toBe(
    `Vault answered HTTP 403 to the lease of database/creds/${ROLE}: permission denied. Check the role, and that the token's policy allows read on database/creds/${ROLE}.`,
  );
  expect(refused.isDone()).toBe(true); // one request: no retry
  expect(inspect(failure, { depth: 10 }).includes(VAULT_TOKEN)).toBe(false);
  expect(redis.stats().authAttempts).toBe(authAttempts); // nothing reached Redis
});
