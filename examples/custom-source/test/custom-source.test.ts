import { randomUUID } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentialsFromJwt } from "@redis-credentials/core";
import {
  scriptedSource,
  startTokenIssuer,
  startTokenRedis,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import { connectRedis } from "../src/redis-client";
import { tokenFileSource } from "../src/token-file-source";

// A real Redis behind the token-enforcing proxy, over TLS: it accepts the tokens `issuer` signs
// (Entra-shaped JWTs, the user name their oid) and closes a connection when its token expires.
// Tokens live 4 s: a rotation about every 2 s.
const TOKEN_LIFETIME_MS = 4_000;
const ROTATIONS = 3;
const FAST = {
  refreshBeforeExpiryMs: 2_000,
  minRefreshIntervalMs: 200,
  refreshJitterMs: 200,
  reauthSpreadMs: 200,
  retry: { initialDelayMs: 50, maxDelayMs: 500 },
};

let issuer: TokenIssuer;
let redis: TokenRedis;
let directory: string;
const closers: (() => Promise<void> | void)[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  issuer = await startTokenIssuer({ tokenLifetimeMs: TOKEN_LIFETIME_MS });
  redis = await startTokenRedis({ identity: issuer });
  directory = await mkdtemp(join(tmpdir(), "token-file-"));
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  // Each test counts its own connections: wait for the server to see the last one close.
  for (let waited = 0; redis.connections().length > 0 && waited < 2_000; waited += 20) {
    await sleep(20);
  }
});

afterAll(async () => {
  await redis?.stop();
  await rm(directory, { recursive: true, force: true });
});

/** Runs INCRs until the connection of `user` has authenticated `times` times; returns what failed. */
async function incrementUntilAuthenticated(
  client: { incr(key: string): Promise<number> },
  user: string,
  times: number,
) {
  const [opened] = redis.connections().filter((connection) => connection.user === user);
  const authentications = () =>
    redis.connections().find(({ id }) => id === opened?.id)?.authSuccesses ?? 0;
  const failures: string[] = [];
  let incremented = 0;
  for (const deadline = Date.now() + 15_000; authentications() < times && Date.now() < deadline; ) {
    const value = await client.incr(`visits:${user}`).catch((error: Error) => error.message);
    if (value !== ++incremented) failures.push(`INCR ${incremented}: ${value}`);
    await sleep(20);
  }
  return { authentications: authentications(), failures };
}

test("the token file source keeps a client connected while a sidecar rewrites the file", async () => {
  const objectId = randomUUID();
  const path = join(directory, "redis-token");
  // The sidecar: a fresh token every second, written whole (a rename), as sidecars do.
  let written = 0;
  const writeToken = async () => {
    await writeFile(`${path}.tmp`, issuer.issueToken({ objectId }));
    await rename(`${path}.tmp`, path);
    written++;
  };
  await writeToken();
  const sidecar = setInterval(() => void writeToken(), 1_000);
  closers.push(() => clearInterval(sidecar));

  const { redis: client, close } = await connectRedis({
    source: tokenFileSource({ path }),
    redis: { host: redis.host, port: redis.port, ca: redis.ca },
    tokenManager: FAST,
  });
  closers.unshift(close);
  const outcome = await incrementUntilAuthenticated(client, objectId, ROTATIONS + 1);

  expect(outcome.failures).toEqual([]);
  expect(outcome.authentications).toBeGreaterThan(ROTATIONS);
  // The file's tokens were the credentials: the server accepted them for the token's oid.
  expect(redis.stats().connectionsByUser).toEqual({ [objectId]: 1 });
  expect(written).toBeGreaterThan(ROTATIONS);
  expect(redis.stats().closedAtExpiry).toBe(0);
  expect(redis.stats().authRejected).toEqual({});
});

test("code built on any source, tested with a scripted one: a failed refresh goes unnoticed", async () => {
  const objectId = randomUUID();
  const token = () => credentialsFromJwt(issuer.issueToken({ objectId }));
  // The first token; then the scheduled refresh fails (the identity provider is down), the
  // retry gets a new token, and so does every later call.
  const source = scriptedSource([token, new Error("token service unavailable"), token], {
    afterLast: "repeat",
  });

  const { redis: client, close } = await connectRedis({
    source,
    redis: { host: redis.host, port: redis.port, ca: redis.ca },
    tokenManager: FAST,
  });
  closers.push(close);
  const outcome = await incrementUntilAuthenticated(client, objectId, ROTATIONS + 1);

  expect(outcome.failures).toEqual([]);
  expect(outcome.authentications).toBeGreaterThan(ROTATIONS);
  // The script's credentials were used, in order: its failure was retried, not noticed.
  expect(source.calls.slice(0, 4).map(({ reason }) => reason)).toEqual([
    "initial",
    "scheduled",
    "retry",
    "scheduled",
  ]);
  expect(redis.stats().connectionsByUser).toEqual({ [objectId]: 1 });
  expect(redis.stats().closedAtExpiry).toBe(0);
  expect(redis.stats().authRejected).toEqual({});
});
