import fc from "fast-check";
import {
  type CredentialSource,
  CredentialsFetchError,
  createTokenManager,
  credentialsFromJwt,
  decodeJwtClaims,
  InvalidOptionsError,
  InvalidTokenError,
  type RedisCredentials,
  staticCredentials,
  type TokenManagerOptions,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { countingSource, HOUR, settle, thrownBy } from "../sources";

/** Builds options from a dotted name (`retry.initialDelayMs`) and a value. */
function optionsWith(name: string, value: unknown): TokenManagerOptions {
  const [outer, inner] = name.split(".") as [string, string | undefined];
  return (
    inner === undefined ? { [outer]: value } : { [outer]: { [inner]: value } }
  ) as TokenManagerOptions;
}

/** Constructs a manager expecting InvalidOptionsError that names `option`; no fetch may happen. */
function expectRejectedOption(options: unknown, option: string, source?: unknown) {
  const clock = new FakeClock();
  const valid = countingSource(clock);
  const thrown = thrownBy(() =>
    createTokenManager((source ?? valid) as CredentialSource, options as TokenManagerOptions),
  );
  expect(thrown).toBeInstanceOf(InvalidOptionsError);
  const error = thrown as InvalidOptionsError;
  expect(error.option).toBe(option);
  expect(error.message).toContain(`\`${option}\``);
  expect(valid.fetch).not.toHaveBeenCalled();
  expect(clock.pending).toBe(0);
}

const durationOptions = [
  "refreshBeforeExpiryMs",
  "minRefreshIntervalMs",
  "refreshJitterMs",
  "fetchTimeoutMs",
  "reauthSpreadMs",
  "retry.initialDelayMs",
  "retry.maxDelayMs",
];

describe("invalid options throw InvalidOptionsError naming the option, at construction", () => {
  test.each([0, 1, -0.5, 2, Number.NaN, Number.POSITIVE_INFINITY, "0.5", null, true])(
    "refreshRatio %p",
    (value) => {
      expectRejectedOption({ refreshRatio: value }, "refreshRatio");
    },
  );

  const badDurations: unknown[] = [
    -1,
    -0.001,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    "1000",
    null,
    true,
    {},
  ];
  test.each(durationOptions.flatMap((name) => badDurations.map((value) => [name, value] as const)))(
    "%s %p",
    (name, value) => {
      expectRejectedOption(optionsWith(name, value), name);
    },
  );

  test.each(["fetchTimeoutMs", "minRefreshIntervalMs", "retry.initialDelayMs", "retry.maxDelayMs"])(
    "%s 0 (must be greater than 0)",
    (name) => {
      expectRejectedOption(optionsWith(name, 0), name);
    },
  );

  test.each([0.5, 0, -2, Number.NaN, Number.POSITIVE_INFINITY, "2"])(
    "retry.multiplier %p",
    (value) => {
      expectRejectedOption({ retry: { multiplier: value } }, "retry.multiplier");
    },
  );

  test("retry.isRetryable that is not a function", () => {
    expectRejectedOption({ retry: { isRetryable: "yes" } }, "retry.isRetryable");
  });

  test("retry.maxDelayMs below retry.initialDelayMs", () => {
    expectRejectedOption({ retry: { initialDelayMs: 1_000, maxDelayMs: 500 } }, "retry.maxDelayMs");
  });

  test("unknown keys, at the top level and in retry", () => {
    expectRejectedOption({ refreshRatoi: 0.5 }, "refreshRatoi");
    expectRejectedOption({ timeoutMs: 1_000 }, "timeoutMs");
    expectRejectedOption({ retry: { foo: 1 } }, "retry.foo");
    expectRejectedOption({ retry: { maxAttempts: 3 } }, "retry.maxAttempts");
  });

  test.each([5, "fast", [], [1], true])("retry that is not an object: %p", (value) => {
    expectRejectedOption({ retry: value }, "retry");
  });

  test("retry: null", () => {
    expectRejectedOption({ retry: null }, "retry");
  });

  test.each<[string, unknown]>([
    ["null", null],
    ["a number", 5],
    ["an empty object", {}],
    ["an object without clearTimeout", { now: () => 0, setTimeout: () => 0 }],
    ["an object with a non-function now", { now: 0, setTimeout: () => 0, clearTimeout: () => {} }],
  ])("a clock that is %s", (_label, value) => {
    expectRejectedOption({ clock: value }, "clock");
  });

  test.each([null, 5, "options", true, [], [{ refreshRatio: 0.5 }]])(
    "options that are not an object: %p",
    (value) => {
      expectRejectedOption(value, "options");
    },
  );

  test.each([
    ["undefined", undefined],
    ["null", null],
    ["a string", "entra-id"],
    ["an empty object", {}],
    ["an object without fetch", { name: "x" }],
    ["an object with a non-function fetch", { name: "x", fetch: "x" }],
    ["an object without a name", { fetch: async () => ({}) }],
    ["an object with an empty name", { name: "", fetch: async () => ({}) }],
    ["an object with a non-string name", { name: 5, fetch: async () => ({}) }],
  ])("a source that is %s", (_label, source) => {
    const thrown = thrownBy(() => createTokenManager(source as unknown as CredentialSource));
    expect(thrown).toBeInstanceOf(InvalidOptionsError);
    expect((thrown as InvalidOptionsError).option).toBe("source");
    expect((thrown as Error).message).toContain("`source`");
  });
});

describe("valid edge values are accepted", () => {
  test.each(["refreshJitterMs", "reauthSpreadMs", "refreshBeforeExpiryMs"])(
    "%s 0",
    async (name) => {
      const clock = new FakeClock();
      const source = countingSource(clock, { lifetimeMs: HOUR });
      const manager = createTokenManager(source, { ...optionsWith(name, 0), clock });
      expect((await manager.getCredentials()).password).toBe("token-1");
      expect(manager.status().nextRefreshAt).toBeGreaterThan(clock.now());
      await manager.dispose();
    },
  );

  test("refreshJitterMs 0 refreshes exactly at the target", async () => {
    const clock = new FakeClock();
    const source = countingSource(clock, { lifetimeMs: HOUR });
    const manager = createTokenManager(source, { clock, refreshJitterMs: 0 });
    await manager.getCredentials();
    expect(manager.status().nextRefreshAt).toBe(clock.now() + 45 * 60_000);
    await manager.dispose();
  });

  test("multiplier 1, ratios just inside (0, 1), explicit undefined values and no options", async () => {
    const clock = new FakeClock();
    const source = countingSource(clock);
    for (const options of [
      { retry: { multiplier: 1 } },
      { refreshRatio: 0.01 },
      { refreshRatio: 0.99 },
      { refreshRatio: undefined, retry: undefined },
      { retry: { initialDelayMs: 60_000 } }, // lifts the default maxDelayMs with it
      {},
    ]) {
      const manager = createTokenManager(source, { ...options, clock } as TokenManagerOptions);
      await manager.dispose();
    }
    const defaults = createTokenManager(source);
    expect(defaults.status().state).toBe("idle");
    await defaults.dispose();
  });
});

describe("bad arguments to the manager's methods", () => {
  test("getCredentials with a signal that is not an AbortSignal, subscribe and on with non-functions, an unknown event", async () => {
    const clock = new FakeClock();
    const manager = createTokenManager(countingSource(clock), { clock });
    const outcome = await settle(
      manager.getCredentials({ signal: "abort" as unknown as AbortSignal }),
    );
    expect((outcome as { error: unknown }).error).toBeInstanceOf(InvalidOptionsError);
    expect(((outcome as { error: unknown }).error as InvalidOptionsError).option).toBe("signal");
    expect(() => manager.subscribe("listener" as unknown as () => void)).toThrow(
      expect.objectContaining({ name: "InvalidOptionsError", option: "listener" }),
    );
    expect(() => manager.on("refreshd" as "refreshed", () => {})).toThrow(
      expect.objectContaining({ name: "InvalidOptionsError", option: "event" }),
    );
    expect(() => manager.on("refreshed", 5 as unknown as () => void)).toThrow(
      expect.objectContaining({ name: "InvalidOptionsError", option: "handler" }),
    );
    await manager.dispose();
  });
});

describe("a source returning malformed credentials: CredentialsFetchError naming the field", () => {
  const start = Date.UTC(2026, 0, 1);
  const valid = { username: "user", password: "pw", expiresAt: start + HOUR };
  const cases: [string, unknown, string][] = [
    ["a string", "pw", "credentials"],
    ["a number", 42, "credentials"],
    ["undefined", undefined, "credentials"],
    ["null", null, "credentials"],
    ["true", true, "credentials"],
    ["an empty password", { ...valid, password: "" }, "password"],
    ["no password", { username: "user", expiresAt: start + HOUR }, "password"],
    ["a numeric password", { ...valid, password: 1234 }, "password"],
    ["a numeric username", { ...valid, username: 42 }, "username"],
    ["a null username", { ...valid, username: null }, "username"],
    ["no username", { password: "pw", expiresAt: start + HOUR }, "username"],
    ["an empty username", { ...valid, username: "" }, "username"],
    ["a string expiresAt", { ...valid, expiresAt: String(start + HOUR) }, "expiresAt"],
    ["a Date expiresAt", { ...valid, expiresAt: new Date(start + HOUR) }, "expiresAt"],
    ["no expiresAt", { username: "user", password: "pw" }, "expiresAt"],
    ["a NaN expiresAt", { ...valid, expiresAt: Number.NaN }, "expiresAt"],
    ["a past expiresAt", { ...valid, expiresAt: start - 1 }, "expiresAt"],
    ["an expiresAt of now", { ...valid, expiresAt: start }, "expiresAt"],
    ["an expiresAt of -Infinity", { ...valid, expiresAt: Number.NEGATIVE_INFINITY }, "expiresAt"],
    ["a string refreshAt", { ...valid, refreshAt: "soon" }, "refreshAt"],
    ["a NaN refreshAt", { ...valid, refreshAt: Number.NaN }, "refreshAt"],
  ];

  test.each(cases)("%s", async (_label, value, field) => {
    const clock = new FakeClock(start);
    const source = { name: "malformed", fetch: jest.fn(async () => value as RedisCredentials) };
    const manager = createTokenManager(source, { clock });
    const outcome = await settle(manager.getCredentials());
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error as CredentialsFetchError;
    expect(error).toBeInstanceOf(CredentialsFetchError);
    expect(error.field).toBe(field);
    expect(error.source).toBe("malformed");
    expect(error.message).toContain(`\`${field}\``);
    expect(error.message).toContain("malformed");
    // The manager stays usable: nothing cached, state idle.
    expect(manager.peekCredentials()).toBeUndefined();
    expect(manager.status().state).toBe("idle");
    expect(manager.status().counters.failures).toBe(1);
    await manager.dispose();
  });

  test("malformed credentials on a forced refresh reject it, and the valid ones stay in service", async () => {
    const clock = new FakeClock(start);
    let answer: unknown = valid;
    const source = { name: "malformed", fetch: jest.fn(async () => answer as RedisCredentials) };
    const manager = createTokenManager(source, { clock });
    const held = await manager.getCredentials();
    answer = { ...valid, expiresAt: "tomorrow" };
    const outcome = await settle(manager.refresh());
    const error = (outcome as { error: unknown }).error as CredentialsFetchError;
    expect(error).toBeInstanceOf(CredentialsFetchError);
    expect(error.field).toBe("expiresAt");
    expect(await manager.getCredentials()).toBe(held);
    await manager.dispose();
  });

  test("Infinity is a valid expiresAt: credentials that never expire, no refresh scheduled", async () => {
    const clock = new FakeClock(start);
    const source = {
      name: "forever",
      fetch: jest.fn(async () => ({ ...valid, expiresAt: Number.POSITIVE_INFINITY })),
    };
    const manager = createTokenManager(source, { clock });
    expect((await manager.getCredentials()).expiresAt).toBe(Number.POSITIVE_INFINITY);
    expect(manager.status().nextRefreshAt).toBeUndefined();
    expect(clock.pending).toBe(0);
    await manager.dispose();
  });
});

describe("decodeJwtClaims fuzz: only InvalidTokenError, or an object for inputs that are valid", () => {
  const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64url");
  const header = b64(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const realJwt = `${header}.${b64(JSON.stringify({ oid: "object-id", exp: 1_900_000_000, aud: "https://redis.azure.com" }))}.${b64(new Uint8Array(256).fill(7))}`;
  let runs = 0;

  /** The property: an object back, or InvalidTokenError; nothing else, ever. */
  function decodesOrRejects(input: unknown): boolean {
    runs++;
    try {
      const claims = decodeJwtClaims(input as string);
      return typeof claims === "object" && claims !== null && !Array.isArray(claims);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      return true;
    }
  }
  const check = (arbitrary: fc.Arbitrary<unknown>, numRuns = 500) =>
    fc.assert(fc.property(arbitrary, decodesOrRejects), { numRuns });

  afterAll(() => {
    expect(runs).toBeGreaterThanOrEqual(4_000);
  });

  test("random strings", () => {
    check(fc.string({ maxLength: 200 }));
    check(fc.string({ unit: "binary", maxLength: 200 }));
  });

  test("random bytes as latin1 and as base64url, alone and as three segments", () => {
    const bytes = fc.uint8Array({ maxLength: 120 });
    check(bytes.map((b) => Buffer.from(b).toString("latin1")));
    check(bytes.map((b) => b64(b)));
    check(fc.tuple(bytes, bytes, bytes).map((parts) => parts.map(b64).join(".")));
  });

  test("truncated and corrupted real JWTs", () => {
    expect(decodeJwtClaims(realJwt).oid).toBe("object-id");
    check(fc.nat({ max: realJwt.length - 1 }).map((end) => realJwt.slice(0, end)));
    check(
      fc
        .tuple(
          fc.nat({ max: realJwt.length - 1 }),
          fc.string({ unit: "binary", minLength: 1, maxLength: 3 }),
        )
        .map(([at, junk]) => realJwt.slice(0, at) + junk + realJwt.slice(at + 1)),
    );
  });

  test("bad base64, base64 of non-JSON, JSON that is not an object", () => {
    check(
      fc
        .tuple(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.constantFrom("!", "+", "/", " ", "=a", "%", "\u00e9"),
        )
        .map(([text, bad]) => `${header}.${b64(text)}${bad}.sig`),
    );
    check(fc.string({ maxLength: 80 }).map((text) => `${header}.${b64(text)}.sig`));
    check(
      fc
        .jsonValue()
        .filter((v) => typeof v !== "object" || v === null || Array.isArray(v))
        .map((v) => `${header}.${b64(JSON.stringify(v))}.sig`),
    );
    check(
      fc
        .jsonValue()
        .filter((v) => typeof v !== "object" || v === null || Array.isArray(v))
        .map((v) => `${b64(JSON.stringify(v))}.${b64("{}")}.sig`),
    );
  });

  test("valid JSON objects as header and payload decode to the payload", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })),
        (claims) => {
          runs++;
          const decoded = decodeJwtClaims(`${header}.${b64(JSON.stringify(claims))}.sig`);
          expect(decoded).toEqual(JSON.parse(JSON.stringify(claims)));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("inputs that are not strings", () => {
    check(fc.anything().filter((v) => typeof v !== "string"));
    for (const value of [
      undefined,
      null,
      42,
      Symbol("jwt"),
      () => realJwt,
      new String(realJwt),
      Buffer.from(realJwt),
    ]) {
      expect(() => decodeJwtClaims(value as unknown as string)).toThrow(InvalidTokenError);
    }
  });
});

describe("credentialsFromJwt", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64url");
  const jwt = (claims: object) => `${b64('{"alg":"RS256"}')}.${b64(JSON.stringify(claims))}.c2ln`;

  test("takes the expiry from exp (seconds) and the user name from oid", () => {
    const credentials = credentialsFromJwt(jwt({ oid: "object-id", exp: 1_900_000_000 }));
    expect(credentials.expiresAt).toBe(1_900_000_000_000);
    expect(credentials.username).toBe("object-id");
    expect(credentials.password).toBe(jwt({ oid: "object-id", exp: 1_900_000_000 }));
  });

  test("a username passed explicitly wins over oid, and makes a token without oid usable", () => {
    expect(
      credentialsFromJwt(jwt({ oid: "object-id", exp: 1 }), { username: "mapped" }).username,
    ).toBe("mapped");
    const credentials = credentialsFromJwt(jwt({ sub: "x", exp: 1_900_000_000 }), {
      username: "mapped",
    });
    expect(credentials.username).toBe("mapped");
    expect(credentials.expiresAt).toBe(1_900_000_000_000);
  });

  test.each([
    ["no exp", { oid: "object-id" }],
    ["a string exp", { oid: "object-id", exp: "1900000000" }],
    ["a null exp", { oid: "object-id", exp: null }],
  ])("%s: InvalidTokenError about exp", (_label, claims) => {
    expect(() => credentialsFromJwt(jwt(claims))).toThrow(InvalidTokenError);
    expect(() => credentialsFromJwt(jwt(claims))).toThrow(/`exp`/);
  });

  test.each([
    ["no oid", { exp: 1_900_000_000 }],
    ["an empty oid", { oid: "", exp: 1_900_000_000 }],
    ["a numeric oid", { oid: 7, exp: 1_900_000_000 }],
  ])("%s and no username: InvalidTokenError saying to pass username", (_label, claims) => {
    expect(() => credentialsFromJwt(jwt(claims))).toThrow(InvalidTokenError);
    expect(() => credentialsFromJwt(jwt(claims))).toThrow(/pass `username`/);
  });

  test("a malformed token: InvalidTokenError", () => {
    expect(() => credentialsFromJwt("not-a-jwt")).toThrow(InvalidTokenError);
  });
});

describe("staticCredentials", () => {
  test.each([
    ["undefined", undefined, "options"],
    ["null", null, "options"],
    ["a string", "hunter2", "options"],
    ["no password", {}, "password"],
    ["an empty password", { password: "" }, "password"],
    ["a numeric password", { password: 1234 }, "password"],
    ["an empty username", { username: "", password: "pw" }, "username"],
    ["a numeric username", { username: 5, password: "pw" }, "username"],
  ])("%s: InvalidOptionsError naming %s", (_label, options, option) => {
    const thrown = thrownBy(() => staticCredentials(options as unknown as { password: string }));
    expect(thrown).toBeInstanceOf(InvalidOptionsError);
    expect((thrown as InvalidOptionsError).option).toBe(option);
  });

  test("a valid one never expires, defaults the user name to 'default' and schedules nothing", async () => {
    const clock = new FakeClock();
    const manager = createTokenManager(staticCredentials({ password: "access-key" }), { clock });
    const credentials = await manager.getCredentials();
    expect(credentials.username).toBe("default");
    expect(credentials.password).toBe("access-key");
    expect(credentials.expiresAt).toBe(Number.POSITIVE_INFINITY);
    expect(manager.status().nextRefreshAt).toBeUndefined();
    expect(clock.pending).toBe(0);
    await clock.advance(365 * 24 * HOUR);
    expect(manager.peekCredentials()).toBe(credentials);
    await manager.dispose();
  });
});
