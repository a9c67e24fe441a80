import {
  ConnectionSession,
  type ConnectionState,
  createTokenManager,
  InvalidOptionsError,
  type RedisCredentials,
  SessionGroup,
  type SessionPort,
  type TokenManagerOptions,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { credentialsFor, scriptedSource } from "../helpers";
import { deferred, MINUTE, SECOND } from "../sources";

/** A port for one connection whose handshakes the test drives; every AUTH is accepted. */
class Port implements SessionPort {
  readonly target = "redis.test:6380";
  readonly connectTimeoutMs = 5 * SECOND;
  state: ConnectionState = "connecting";
  connectionState(): ConnectionState {
    return this.state;
  }
  sendAuth(): Promise<unknown> {
    return Promise.resolve("OK");
  }
  reconnect(): void {}
  reportError(): void {}
}

/**
 * Tokens living 3 s: the scheduled refresh lands 1.2–1.5 s after receipt, so at 1.1 s the
 * held token has 1.9 s left, under the 2 s default, with no refresh in flight or due.
 * `answer` decides each fetch after the first.
 */
function setup(
  answer: (n: number, clock: FakeClock) => unknown,
  options: TokenManagerOptions = {},
) {
  const clock = new FakeClock();
  const source = scriptedSource(clock, (call) =>
    call.n === 1 ? credentialsFor(clock, 3 * SECOND, "token-1") : answer(call.n, clock),
  );
  const manager = createTokenManager(source, {
    clock,
    minRefreshIntervalMs: 100,
    reauthSpreadMs: 0,
    ...options,
  });
  const port = new Port();
  const session = new ConnectionSession(new SessionGroup(manager), port);
  const handshake = async () => {
    port.state = "connecting";
    const credentials = await session.handshakeCredentials();
    port.state = "ready";
    session.ready();
    return credentials;
  };
  return { clock, source, manager, session, handshake };
}

test("a handshake with 1.9 s of token left waits for the refresh and presents the fresh token", async () => {
  const fetch = deferred<RedisCredentials>();
  const s = setup(() => fetch.promise);
  expect((await s.handshake()).password).toBe("token-1");
  await s.clock.advance(1_100);

  let presented: RedisCredentials | undefined;
  const reconnect = s.handshake().then((credentials) => {
    presented = credentials;
  });
  await s.clock.advance(0);
  expect(s.source.calls).toHaveLength(2);
  expect(s.source.calls[1]?.reason).toBe("scheduled");
  expect(presented).toBeUndefined(); // waiting, not presenting the token about to expire

  fetch.resolve(credentialsFor(s.clock, 3 * SECOND, "token-2"));
  await reconnect;
  expect(presented?.password).toBe("token-2");
  await s.manager.dispose();
});

test("minHandshakeLifetimeMs: 0 turns it off: the same handshake presents the old token at once", async () => {
  const s = setup((n, clock) => credentialsFor(clock, 3 * SECOND, `token-${n}`), {
    minHandshakeLifetimeMs: 0,
  });
  await s.handshake();
  await s.clock.advance(1_100);
  expect((await s.handshake()).password).toBe("token-1");
  expect(s.source.calls).toHaveLength(1);
  await s.manager.dispose();
});

test("the refresh fails while the old token is still valid: the handshake presents the old one", async () => {
  const s = setup(() => Promise.reject(new Error("identity provider down")));
  await s.handshake();
  await s.clock.advance(1_100);
  const credentials = await s.handshake();
  expect(credentials.password).toBe("token-1");
  expect(s.source.calls).toHaveLength(2);
  await s.manager.dispose();
});

test("a token that short just arrived: presented as is, no fetch per handshake", async () => {
  const s = setup(() => Promise.reject(new Error("not called")), {
    minHandshakeLifetimeMs: 5 * SECOND,
    minRefreshIntervalMs: SECOND,
  });
  await s.handshake();
  await s.clock.advance(500);
  expect((await s.handshake()).password).toBe("token-1");
  expect(s.source.calls).toHaveLength(1);
  await s.manager.dispose();
});

test("retries held off by Retry-After past the expiry: the handshake does not call the source", async () => {
  const s = setup(() => Promise.reject(Object.assign(new Error("429"), { retryAfterMs: MINUTE })));
  await s.handshake();
  await s.clock.advanceTo(s.manager.status().nextRefreshAt!); // the scheduled refresh: throttled
  expect(s.source.calls).toHaveLength(2);
  await s.clock.advance(200);
  const credentials = await s.handshake();
  expect(credentials.password).toBe("token-1");
  expect(s.source.calls).toHaveLength(2);
  await s.manager.dispose();
});

test("a retry due before the token expires: the handshake waits for it", async () => {
  jest.spyOn(Math, "random").mockReturnValue(0);
  let failures = 1;
  const s = setup(
    (n, clock) =>
      failures-- > 0
        ? Promise.reject(new Error("blip"))
        : credentialsFor(clock, 3 * SECOND, `token-${n}`),
    { retry: { initialDelayMs: 500 } },
  );
  await s.handshake();
  await s.clock.advanceTo(s.manager.status().nextRefreshAt!); // fails; retry in 500 ms
  expect(s.source.calls).toHaveLength(2);
  const credentials = s.handshake();
  await s.clock.advance(500);
  expect((await credentials).password).toBe("token-3");
  expect(s.source.calls).toHaveLength(3);
  jest.restoreAllMocks();
  await s.manager.dispose();
});

test.each([
  [-1, /0 or more/],
  ["2000", /finite number/],
  [Number.NaN, /finite number/],
])("minHandshakeLifetimeMs %p is refused with InvalidOptionsError", (value, message) => {
  const source = scriptedSource(new FakeClock(), () => undefined);
  const create = () => createTokenManager(source, { minHandshakeLifetimeMs: value as number });
  expect(create).toThrow(InvalidOptionsError);
  expect(create).toThrow(message);
});
