import diagnosticsChannel from "node:diagnostics_channel";
import {
  ConnectionSession,
  type ConnectionState,
  CredentialsError,
  CredentialsExpiredError,
  CredentialsFetchError,
  CredentialsRejectedError,
  createTokenManager,
  diagnosticsChannels,
  IamUnavailableError,
  type RedisCredentials,
  SessionGroup,
  type SessionPort,
  type TokenManager,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { deferred, SECOND, settle } from "../sources";

afterEach(() => {
  jest.restoreAllMocks();
});

const WRONGPASS = () => new Error("WRONGPASS invalid username-password pair or user is disabled.");
const IAM_EXHAUSTED = () => new Error("ERR_IAM_EXHAUSTED IAM authentication quota exceeded");
const IAM_OTHER = () => new Error("ERR_IAM_OTHER transient IAM error");

/** A port whose connection state the test sets, and whose server answers AUTH as told. */
class FakePort implements SessionPort {
  /** The server answers each AUTH a millisecond later, as a real one answers asynchronously. */
  constructor(private readonly clock?: FakeClock) {}

  readonly target = "redis.test:6380";
  connectTimeoutMs = 2 * SECOND;
  state: ConnectionState = "connecting";
  readonly auths: string[] = [];
  readonly errors: Error[] = [];
  reconnects = 0;
  ends = 0;
  /** What the server does with the next AUTHs: accept, refuse, or hold the answer. */
  answer: "accept" | "refuse" | "iam" | "hold" = "accept";
  readonly held: ReturnType<typeof deferred<unknown>>[] = [];

  connectionState(): ConnectionState {
    return this.state;
  }
  sendAuth(credentials: RedisCredentials): Promise<unknown> {
    this.auths.push(credentials.password);
    if (this.answer === "refuse" || this.answer === "iam") {
      const refusal = this.answer === "iam" ? IAM_OTHER() : WRONGPASS();
      if (this.clock === undefined) return Promise.reject(refusal);
      return new Promise((_, reject) => this.clock!.setTimeout(() => reject(refusal), 1));
    }
    if (this.answer === "hold") {
      const reply = deferred<unknown>();
      this.held.push(reply);
      return reply.promise;
    }
    return Promise.resolve("OK");
  }
  reconnect(): void {
    this.reconnects += 1;
  }
  reportError(error: Error): void {
    this.errors.push(error);
  }
  ended(): void {
    this.ends += 1;
  }
}

interface Setup {
  clock: FakeClock;
  manager: TokenManager;
  group: SessionGroup;
  port: FakePort;
  session: ConnectionSession;
  /** Makes the source fail (or answer again). */
  failing: { on: boolean; hang: boolean };
}

function setup(lifetimeMs = 60 * SECOND): Setup {
  const clock = new FakeClock();
  const failing = { on: false, hang: false };
  let n = 0;
  const manager = createTokenManager(
    {
      name: "scripted",
      fetch: ({ signal }) => {
        if (failing.hang) {
          return new Promise((_, reject) =>
            signal.addEventListener("abort", () => reject(signal.reason)),
          );
        }
        if (failing.on) return Promise.reject(new Error("identity provider down"));
        n += 1;
        return Promise.resolve({
          username: "app",
          password: `token-${n}`,
          expiresAt: clock.now() + lifetimeMs,
        });
      },
    },
    { clock, reauthSpreadMs: 0, minRefreshIntervalMs: 100 },
  );
  const group = new SessionGroup(manager);
  const port = new FakePort(clock);
  const session = new ConnectionSession(group, port);
  return { clock, manager, group, port, session, failing };
}

async function connect({ session, port }: Setup): Promise<RedisCredentials> {
  port.state = "connecting";
  const credentials = await session.handshakeCredentials();
  port.state = "ready";
  session.ready();
  return credentials;
}

test("the handshake presents the current credentials; each rotation sends exactly one AUTH", async () => {
  const s = setup();
  expect((await connect(s)).password).toBe("token-1");
  expect(s.group.status().connections).toBe(1);
  await s.manager.refresh();
  await s.clock.advance(0);
  expect(s.port.auths).toEqual(["token-2"]);
  expect(s.group.status().lastReauthAt).toBe(s.clock.now());
  await s.clock.advance(60 * SECOND); // scheduled rotations: one AUTH each
  expect(s.port.auths.length).toBe(s.manager.status().counters.refreshes - 1);
  await s.manager.dispose();
});

test("credentials that arrive during the handshake are sent once it is ready", async () => {
  const s = setup();
  s.port.state = "connecting";
  await s.session.handshakeCredentials(); // presents token-1
  await s.manager.refresh(); // token-2 arrives while connecting: nothing can be sent yet
  expect(s.port.auths).toEqual([]);
  s.port.state = "ready";
  s.session.ready();
  await s.clock.advance(0);
  expect(s.port.auths).toEqual(["token-2"]);
  await s.manager.dispose();
});

test("AUTH waits for the end of a transaction; a nested MULTI keeps it waiting", async () => {
  const s = setup();
  await connect(s);
  expect(s.session.transactionStarted()).toBe(true);
  expect(s.session.transactionStarted()).toBe(false);
  await s.manager.refresh();
  expect(s.port.auths).toEqual([]);
  s.session.transactionEnded();
  await s.clock.advance(0);
  expect(s.port.auths).toEqual(["token-2"]);
  await s.manager.dispose();
});

test("a connection that cannot send AUTH is reconnected, at once", async () => {
  const s = setup();
  await connect(s);
  s.port.state = "reconnect-to-reauthenticate";
  await s.manager.refresh();
  expect(s.port.reconnects).toBe(1);
  expect(s.port.auths).toEqual([]);
  expect(s.session.retryAtOnce()).toBe(true);
  expect(s.session.retryAtOnce()).toBe(false);
  await s.manager.dispose();
});

test("an ended connection stops listening to the manager", async () => {
  const s = setup();
  await connect(s);
  const subscribers = s.manager.status().counters.subscribers;
  s.port.state = "ended";
  await s.manager.refresh();
  expect(s.port.ends).toBe(1);
  expect(s.manager.status().counters.subscribers).toBe(subscribers - 1);
  expect(s.group.status().connections).toBe(0);
  await s.manager.dispose();
});

test("a refused AUTH forces one refresh; refused again, one CredentialsRejectedError and backoff", async () => {
  // Backoffs in the middle of their ranges: 1.5 s, then 2 s.
  jest.spyOn(Math, "random").mockReturnValue(0.5);
  const s = setup();
  await connect(s);
  s.port.answer = "refuse";
  await s.clock.advanceTo(s.manager.status().nextRefreshAt!); // the scheduled rotation
  await s.clock.advance(5); // the server's answers
  // token-2 refused → forced refresh → token-3, refused too.
  expect(s.port.auths).toEqual(["token-2", "token-3"]);
  expect(s.group.status().reauthFailures).toBe(2);
  // Then a backoff (1 to 2 s), one error for the user, and another try.
  await s.clock.advance(900);
  expect(s.port.auths).toHaveLength(2);
  await s.clock.advance(1_200);
  expect(s.port.errors).toHaveLength(1);
  expect(s.port.errors[0]).toBeInstanceOf(CredentialsRejectedError);
  expect(s.port.errors[0]!.message).not.toContain("token-");
  expect(s.port.auths).toEqual(["token-2", "token-3", "token-3"]);
  s.port.answer = "accept";
  await s.clock.advance(30 * SECOND);
  expect(s.port.errors).toHaveLength(1);
  await s.manager.dispose();
});

test("a refused handshake: the next one presents freshly fetched credentials; refused again, one error", async () => {
  const s = setup();
  await connect(s);
  s.port.state = "connecting";
  await s.session.handshakeCredentials(); // a reconnect presents token-1
  s.session.handshakeRefused(WRONGPASS());
  expect(s.session.retryAtOnce()).toBe(true);
  expect((await s.session.handshakeCredentials()).password).toBe("token-2");
  expect(s.port.errors).toEqual([]);
  s.session.handshakeRefused(WRONGPASS());
  const next = s.session.handshakeCredentials();
  await s.clock.advance(2 * SECOND); // the backoff after a forced refresh that did not help
  expect((await next).password).toBe("token-2");
  expect(s.port.errors.map((e) => e.name)).toEqual(["CredentialsRejectedError"]);
  // A handshake that goes through ends the run of refusals.
  s.port.state = "ready";
  s.session.ready();
  expect(s.session.retryAtOnce()).toBe(false);
  await s.manager.dispose();
});

test("no valid credentials: a reconnect waits up to the connect timeout, on the manager's clock", async () => {
  const s = setup(10 * SECOND);
  await connect(s);
  s.failing.hang = true;
  await s.clock.advance(11 * SECOND); // expired; the source hangs
  s.port.state = "connecting";
  const attempt = settle(s.session.handshakeCredentials());
  await s.clock.advance(1_999);
  let settled = false;
  void attempt.then(() => {
    settled = true;
  });
  await s.clock.advance(0);
  expect(settled).toBe(false);
  await s.clock.advance(1);
  const outcome = await attempt;
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: Error }).error;
  expect(error).toBeInstanceOf(CredentialsExpiredError);
  expect(error.message).toMatch(/redis\.test:6380 within connectTimeout \(2000 ms\)/);
  expect(s.session.failsForGood(error)).toBe(false);
  await s.manager.dispose();
});

test("a first connect fails with what the fetch failed with, for good", async () => {
  const s = setup();
  s.failing.on = true;
  const outcome = await settle(s.session.handshakeCredentials());
  const error = (outcome as { error: Error }).error;
  expect(error).toBeInstanceOf(CredentialsFetchError);
  expect(s.session.failsForGood(error)).toBe(true);
  await s.manager.dispose();
});

test("an AUTH answered after a reconnect does not undo the handshake's newer credentials", async () => {
  const s = setup();
  await connect(s);
  s.port.answer = "hold";
  await s.manager.refresh(); // AUTH token-2 sent, answer held
  s.port.answer = "accept";
  s.port.state = "connecting";
  await s.clock.advance(200); // past minRefreshIntervalMs
  await s.manager.refresh(); // token-3 arrives while the connection reconnects
  await s.session.handshakeCredentials(); // presents token-3
  s.port.state = "ready";
  s.session.ready();
  s.port.held[0]!.resolve("OK"); // the old AUTH goes through last on the server
  await s.clock.advance(0);
  expect(s.port.auths).toEqual(["token-2", "token-3"]);
  await s.manager.dispose();
});

test("disposing the group ends every session and undoes the adapter's hooks", async () => {
  const s = setup();
  const detached: string[] = [];
  const other = new ConnectionSession(s.group, new FakePort(), () => detached.push("other"));
  await connect(s);
  other.start();
  expect(s.group.status().connections).toBe(2);
  s.group.dispose();
  expect(s.group.status().connections).toBe(0);
  expect(detached).toEqual(["other"]);
  expect(s.manager.status().counters.subscribers).toBe(0);
  await s.manager.dispose();
});

test("a wall-clock step neither expires valid credentials nor revives expired ones", async () => {
  const s = setup(60 * SECOND);
  await connect(s);
  s.clock.jumpWallClock(10 * 60 * SECOND); // NTP steps the wall clock 10 minutes forward
  expect(s.manager.peekCredentials()?.password).toBe("token-1");
  // A reconnect now presents the token at once: it has 60 s of life, whatever the wall says.
  s.port.state = "connecting";
  expect((await s.session.handshakeCredentials()).password).toBe("token-1");
  s.session.ready();

  s.clock.jumpWallClock(-20 * 60 * SECOND); // and 20 minutes back
  s.failing.hang = true; // no replacement comes
  await s.clock.advance(61 * SECOND);
  // Expired after 60 s of real time, although the wall clock says it has 10 minutes left.
  expect(s.manager.peekCredentials()).toBeUndefined();
  expect(s.manager.status().state).toBe("expired");
  await s.manager.dispose();
});

/** Resolves the promise's outcome after `ms` of fake time, or undefined when it is still pending. */
async function after<T>(clock: FakeClock, ms: number, promise: Promise<T>): Promise<T | undefined> {
  let value: T | undefined;
  void promise.then((v) => {
    value = v;
  });
  await clock.advance(ms);
  return value;
}

test("ERR_IAM_* in reply to a handshake: no forced refresh, one typed error, a jittered backoff that grows", async () => {
  const s = setup();
  const random = jest.spyOn(Math, "random").mockReturnValue(1); // the top of each backoff window
  await connect(s);
  const fetches = s.manager.status().counters.fetches;
  s.port.state = "connecting";
  await s.session.handshakeCredentials();
  s.session.handshakeRefused(IAM_EXHAUSTED());
  expect(s.session.retryAtOnce()).toBe(true);
  // Attempt 0 waits up to 500 ms, attempt 1 up to 1 s, attempt 2 up to 2 s.
  for (const ceiling of [500, 1_000, 2_000]) {
    const next = s.session.handshakeCredentials();
    expect(await after(s.clock, ceiling - 1, next)).toBeUndefined();
    expect((await after(s.clock, 1, next))?.password).toBe("token-1"); // the same, still valid
    s.session.handshakeRefused(IAM_EXHAUSTED());
  }
  expect(s.manager.status().counters.fetches).toBe(fetches);
  expect(s.port.errors.every((e) => e instanceof IamUnavailableError)).toBe(true);
  expect(s.port.errors.map((e) => (e as IamUnavailableError).code)).toEqual([
    "ERR_IAM_EXHAUSTED",
    "ERR_IAM_EXHAUSTED",
    "ERR_IAM_EXHAUSTED",
  ]);
  expect(s.port.errors[0]!.message).toContain("redis.test:6380");
  expect(s.group.status()).toMatchObject({ iamRetries: 3, reauthFailures: 0 });
  // A handshake that goes through starts the backoff over.
  await s.clock.advance(4 * SECOND);
  s.port.state = "ready";
  s.session.ready();
  s.port.state = "connecting";
  await s.session.handshakeCredentials();
  s.session.handshakeRefused(IAM_EXHAUSTED());
  random.mockReturnValue(0); // the floor
  const next = s.session.handshakeCredentials();
  expect(await after(s.clock, 249, next)).toBeUndefined();
  expect(await after(s.clock, 1, next)).toBeDefined();
  await s.manager.dispose();
});

test("connections turned away together by ERR_IAM_EXHAUSTED come back at different times", async () => {
  const s = setup();
  await connect(s);
  const sessions = Array.from({ length: 20 }, () => new ConnectionSession(s.group, new FakePort()));
  const returned: number[] = [];
  for (const session of sessions) {
    await session.handshakeCredentials();
    session.handshakeRefused(IAM_EXHAUSTED());
    void session.handshakeCredentials().then(() => returned.push(s.clock.now()));
  }
  await s.clock.advance(SECOND);
  expect(returned).toHaveLength(20);
  expect(new Set(returned).size).toBeGreaterThan(10);
  await s.manager.dispose();
});

test("ERR_IAM_OTHER in reply to a re-AUTH: reported, retried after a backoff, no forced refresh", async () => {
  const s = setup();
  jest.spyOn(Math, "random").mockReturnValue(0);
  await connect(s);
  s.port.answer = "iam";
  await s.manager.refresh();
  await s.clock.advance(1); // the refusal
  const fetches = s.manager.status().counters.fetches;
  expect(s.port.auths).toEqual(["token-2"]);
  expect(s.port.errors.map((e) => e.name)).toEqual(["IamUnavailableError"]);
  expect((s.port.errors[0] as IamUnavailableError).code).toBe("ERR_IAM_OTHER");
  s.port.answer = "accept";
  await s.clock.advance(249);
  expect(s.port.auths).toEqual(["token-2"]);
  await s.clock.advance(1);
  expect(s.port.auths).toEqual(["token-2", "token-2"]);
  expect(s.manager.status().counters.fetches).toBe(fetches);
  expect(s.group.status()).toMatchObject({ iamRetries: 1, reauthFailures: 0 });
  expect(s.group.status().lastReauthAt).toBe(s.clock.now());
  await s.manager.dispose();
});

test("a session that ends during an IAM backoff sends nothing more", async () => {
  const s = setup();
  await connect(s);
  s.port.answer = "iam";
  await s.manager.refresh();
  await s.clock.advance(1);
  s.session.end();
  await s.clock.advance(20 * SECOND);
  expect(s.port.auths).toEqual(["token-2"]);
  await s.manager.dispose();
});

test("an AUTH the adapter itself refuses with a typed error: the manager reports it, nothing is retried", async () => {
  const s = setup();
  await connect(s);
  const typed = new CredentialsError("the client cannot take these credentials");
  s.port.sendAuth = (credentials) => {
    s.port.auths.push(credentials.password);
    return Promise.reject(typed);
  };
  const reported: unknown[] = [];
  s.manager.on("subscriberError", (error) => reported.push(error));
  await s.manager.refresh();
  await s.clock.advance(SECOND);
  expect(reported).toEqual([typed]);
  expect(s.port.auths).toEqual(["token-2"]);
  expect(s.group.status().reauthFailures).toBe(0);
  await s.manager.dispose();
});

test("each re-AUTH's answer is published on redis-credentials:reauth, with no secret", async () => {
  const messages: Record<string, unknown>[] = [];
  const listener = (message: unknown) => messages.push(message as Record<string, unknown>);
  diagnosticsChannel.subscribe(diagnosticsChannels.reauth, listener);
  try {
    const s = setup();
    await connect(s); // a handshake is not a re-AUTH
    expect(messages).toEqual([]);

    await s.manager.refresh();
    await s.clock.advance(0);
    expect(messages).toEqual([
      {
        manager: s.manager.id,
        source: "scripted",
        client: s.group.id,
        target: "redis.test:6380",
        outcome: "success",
      },
    ]);

    s.port.answer = "refuse";
    await s.clock.advance(10 * SECOND);
    await s.manager.refresh();
    await s.clock.advance(10);
    expect(messages[1]).toEqual({
      manager: s.manager.id,
      source: "scripted",
      client: s.group.id,
      target: "redis.test:6380",
      outcome: "failure",
      error: { name: "Error", message: expect.stringContaining("WRONGPASS") },
    });
    expect(JSON.stringify(messages)).not.toMatch(/token-\d/);
    await s.manager.dispose();
  } finally {
    diagnosticsChannel.unsubscribe(diagnosticsChannels.reauth, listener);
  }
});
