import {
  startTokenIssuer,
  startTokenRedis,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import type { DoctorOptions } from "../../src/doctor-options";
import { runDoctor } from "../../src/run-doctor";
import { closedPort, expectNoSecrets, outcomes, silentServer, step } from "./doctor-helpers";

// What the doctor says about the network and the server, with a static user whose password is a
// token the Redis accepts: a host that does not resolve, a closed port, plaintext to a TLS port, a
// server that never answers, a wrong password, and a server without TLS.

const USER = "7c1c4a36-0000-4000-8000-0000000000d0";
let issuer: TokenIssuer;
let redis: TokenRedis;
let plain: TokenRedis;
let token: string;

beforeAll(async () => {
  issuer = await startTokenIssuer();
  [redis, plain] = await Promise.all([
    startTokenRedis({ identity: issuer }),
    startTokenRedis({ identity: issuer, tls: false }),
  ]);
  token = issuer.issueToken({ objectId: USER, lifetimeMs: 600_000 });
});
afterAll(() => Promise.all([redis?.stop(), plain?.stop()]));

/** A doctor run as `--username USER --password-env VAR` would ask for it. */
const options = (overrides: Partial<DoctorOptions> = {}): DoctorOptions => ({
  host: "127.0.0.1",
  port: redis.port,
  ca: redis.ca as string,
  credentials: { kind: "static", username: USER, password: token, passwordFrom: "$REDIS_TOKEN" },
  ...overrides,
});

test("a token as a static password: every step passes, and the credentials step shows its claims", async () => {
  const report = await runDoctor(options());
  expect(report.ok).toBe(true);
  expect(step(report, "credentials").detail).toMatch(
    new RegExp(
      `^static credentials: user ${USER}, password from \\$REDIS_TOKEN; Redis user ${USER}; token: object id ${USER}, .*expires`,
    ),
  );
  expect(step(report, "dns").detail).toBe("127.0.0.1 is an IP address: nothing to resolve");
  expect(step(report, "whoami").detail).toBe(`authenticated as ${USER}`);
  expectNoSecrets(report, [token]);
});

test("a wrong password: WRONGPASS, and the remedy says the user or its password is wrong", async () => {
  const wrong = "not-the-password-of-this-user";
  const report = await runDoctor(
    options({
      credentials: {
        kind: "static",
        username: "app",
        password: wrong,
        passwordFrom: "$REDIS_PASSWORD",
      },
    }),
  );
  expect(outcomes(report)).toMatchObject({
    credentials: "ok",
    tls: "ok",
    auth: "failed",
    roundtrip: "skipped",
  });
  expect(step(report, "auth")).toEqual({
    name: "auth",
    ok: false,
    detail: "WRONGPASS invalid username-password pair or user is disabled.",
    remedy:
      "Redis refused user app with the password from --password-env: the user does not exist, is disabled, or the password is wrong (ACL LIST on the server shows its users).",
  });
  expectNoSecrets(report, [wrong]);
});

test("a host name that does not resolve: the dns step says so, every step after it is skipped", async () => {
  const asked: string[] = [];
  // An injected resolver answers as the system's does for a .invalid name (RFC 6761: never
  // resolves), so that no DNS query leaves this machine.
  const lookup = async (hostname: string) => {
    asked.push(hostname);
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: "ENOTFOUND",
      hostname,
    });
  };
  const report = await runDoctor(options({ host: "my-cache.redis.invalid", lookup }));
  expect(asked).toEqual(["my-cache.redis.invalid"]);
  expect(outcomes(report)).toEqual({
    credentials: "ok",
    dns: "failed",
    tcp: "skipped",
    tls: "skipped",
    auth: "skipped",
    whoami: "skipped",
    roundtrip: "skipped",
  });
  const dns = step(report, "dns");
  expect(dns.detail).toBe("getaddrinfo ENOTFOUND my-cache.redis.invalid");
  expect(dns.remedy).toMatch(
    /^The host name my-cache\.redis\.invalid does not resolve: check --host for a typo \(Azure Managed Redis: <name>\.<region>\.redis\.azure\.net;.*private DNS zone/,
  );
  expect(step(report, "tcp").detail).toBe("not run: the dns step did not pass");
});

test("a closed port: ECONNREFUSED, and the remedy names the ports the clouds use", async () => {
  const port = await closedPort();
  const report = await runDoctor(options({ port }));
  expect(outcomes(report)).toMatchObject({
    dns: "ok",
    tcp: "failed",
    tls: "skipped",
    auth: "skipped",
  });
  const tcp = step(report, "tcp");
  expect(tcp.detail).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  expect(tcp.remedy).toBe(
    `Nothing accepts connections on 127.0.0.1:${port}: check --port (Azure Managed Redis listens on 10000, Azure Cache for Redis on 6380 (TLS), ElastiCache, MemoryDB and Memorystore on 6379), that the cache's firewall or public network access lets this machine in, and, for a cache with a private endpoint, that you connect from inside its network.`,
  );
});

test("--no-tls to a TLS port: the PING in clear gets no RESP, no token is sent, and the remedy says to drop --no-tls", async () => {
  const attempts = redis.stats().authAttempts;
  const report = await runDoctor(options({ tls: false }));
  expect(outcomes(report)).toMatchObject({ tcp: "ok", tls: "failed", auth: "skipped" });
  const tls = step(report, "tls");
  expect(tls.detail).toMatch(/^plaintext \(--no-tls\): the server did not answer RESP in clear: /);
  expect(tls.remedy).toBe(
    "This port speaks TLS (every cloud cache does for token authentication): drop --no-tls, and pass --ca FILE if the server's CA is a private one.",
  );
  expect(redis.stats().authAttempts).toBe(attempts);
});

test("a server that accepts the connection and never answers: the tls step times out, with its remedy", async () => {
  const silent = await silentServer();
  try {
    const report = await runDoctor(options({ port: silent.port, timeoutMs: 300 }));
    expect(outcomes(report)).toMatchObject({ tcp: "ok", tls: "failed", auth: "skipped" });
    const tls = step(report, "tls");
    expect(tls.detail).toBe("no answer within 300 ms (--timeout-ms)");
    expect(tls.remedy).toMatch(
      /^The server accepted the connection but did not complete the TLS handshake within 300 ms: the port is not the cache's TLS port/,
    );
  } finally {
    await silent.close();
  }
});

test("--no-tls to a server without TLS: the tls step passes as plaintext and says the token goes in clear", async () => {
  const report = await runDoctor(options({ port: plain.port, tls: false }));
  expect(report.ok).toBe(true);
  expect(step(report, "tls").detail).toBe(
    "plaintext (--no-tls): the server answers RESP in clear (PING: NOAUTH Authentication required.); the token will cross the network unencrypted",
  );
  expect(step(report, "whoami").detail).toBe(`authenticated as ${USER}`);
});

test("TLS to a server without TLS: the handshake gets no answer, and the remedy says the port may not speak TLS", async () => {
  const report = await runDoctor(options({ port: plain.port, timeoutMs: 500 }));
  expect(outcomes(report)).toMatchObject({ tcp: "ok", tls: "failed", auth: "skipped" });
  expect(step(report, "tls").remedy).toMatch(
    /did not complete the TLS handshake within 500 ms: .*the server there does not speak TLS/,
  );
});
