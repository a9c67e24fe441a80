import diagnosticsChannel from "node:diagnostics_channel";
import util from "node:util";
import {
  CredentialsExpiredError,
  CredentialsFetchError,
  createCredentials,
  createTokenManager,
  credentialsFromJwt,
  decodeJwtClaims,
  diagnosticsChannels,
  InvalidOptionsError,
  InvalidTokenError,
  ManagerDisposedError,
  markPermanent,
  type RedisCredentials,
  staticCredentials,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { HOUR, MINUTE, settle, thrownBy } from "../sources";

/** The text no output may ever contain: every password in these tests carries it. */
const TOKEN = "zQ7kSeCrEt-Tok3n-4xW9";
const secret = (n: number) => `${TOKEN}.${n}`;

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");

/** Every way a value ends up as text in a log line. */
function renderings(value: unknown): string[] {
  const out: string[] = [
    util.inspect(value),
    util.inspect(value, { showHidden: true, depth: Number.POSITIVE_INFINITY }),
    util.inspect(value, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
    util.format("%s %o %O %j", value, value, value, value),
  ];
  const attempt = (render: () => string | undefined) => {
    try {
      const text = render();
      if (text !== undefined) out.push(text);
    } catch {
      // Not renderable this way (a cycle, say): nothing to leak.
    }
  };
  attempt(() => JSON.stringify(value));
  attempt(() => String(value));
  attempt(() => `${value}`);
  if (typeof value === "object" && value !== null) {
    const spread = { ...value };
    out.push(util.inspect(spread, { showHidden: true, depth: Number.POSITIVE_INFINITY }));
    attempt(() => JSON.stringify(spread));
    for (const key of Object.getOwnPropertyNames(value)) {
      attempt(() => String((value as Record<string, unknown>)[key]));
    }
  }
  let error: unknown = value;
  for (let depth = 0; error instanceof Error && depth < 10; depth++) {
    out.push(error.message, String(error.stack));
    error = error.cause;
  }
  return out;
}

class Scanner {
  readonly texts: string[] = [];
  collect(...values: unknown[]) {
    for (const value of values) this.texts.push(...renderings(value));
  }
  /** Fails with the offending text if any collected text contains `needle`. */
  expectNoneContain(needle: string) {
    const leaks = this.texts.filter((text) => text.includes(needle));
    expect(leaks).toEqual([]);
  }
}

test("the scanner finds the token where it is shown (a control for the tests below)", () => {
  const scanner = new Scanner();
  scanner.collect({ username: "u", password: secret(1) });
  expect(scanner.texts.some((text) => text.includes(TOKEN))).toBe(true);
});

test("no event, error, status, diagnostics message or rendering of credentials ever shows the password", async () => {
  const scanner = new Scanner();
  const clock = new FakeClock();

  // Everything on every diagnostics channel.
  const channelMessages: unknown[] = [];
  const channelsHeard = new Set<string | symbol>();
  const onMessage = (message: unknown, name: string | symbol) => {
    channelMessages.push(message);
    channelsHeard.add(name);
  };
  for (const name of Object.values(diagnosticsChannels))
    diagnosticsChannel.subscribe(name, onMessage);
  // Everything the library might print.
  const printed: unknown[] = [];
  const consoleSpies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((method) =>
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      printed.push(...args);
    }),
  );
  const warningSpy = jest.spyOn(process, "emitWarning").mockImplementation(((
    ...args: unknown[]
  ) => {
    printed.push(...args);
  }) as typeof process.emitWarning);

  type Mode =
    | "ok"
    | "same"
    | "same-later"
    | "fail"
    | "hang"
    | "permanent"
    | "helper"
    | "string"
    | "expires-string"
    | "expires-nan"
    | "expires-past"
    | "username-object"
    | "username-number"
    | "refresh-at-string";
  let mode: Mode = "ok";
  let n = 0;
  let last: RedisCredentials | undefined;
  const source = {
    name: "secret-test",
    fetch: async (): Promise<RedisCredentials> => {
      const now = clock.now();
      const fresh = () => ({ username: "svc-user", password: secret(++n), expiresAt: now + HOUR });
      switch (mode) {
        case "ok":
          last = fresh();
          return last;
        case "same":
          return last as RedisCredentials;
        case "same-later":
          return {
            ...(last as RedisCredentials),
            password: (last as RedisCredentials).password,
            expiresAt: now + 2 * HOUR,
          };
        case "fail":
          throw new Error("identity provider unavailable (HTTP 503)");
        case "hang":
          return new Promise<never>(() => {});
        case "permanent":
          throw markPermanent(new Error("the identity is not a Redis user"));
        case "helper":
          last = createCredentials(fresh());
          return last;
        case "string":
          return secret(++n) as unknown as RedisCredentials;
        case "expires-string":
          return { ...fresh(), expiresAt: TOKEN } as unknown as RedisCredentials;
        case "expires-nan":
          return { ...fresh(), expiresAt: Number.NaN };
        case "expires-past":
          return { ...fresh(), expiresAt: now - 1 };
        case "username-object":
          return { ...fresh(), username: { token: TOKEN } } as unknown as RedisCredentials;
        case "username-number":
          return { ...fresh(), username: 42 } as unknown as RedisCredentials;
        case "refresh-at-string":
          return { ...fresh(), refreshAt: TOKEN } as unknown as RedisCredentials;
      }
    },
  };

  const manager = createTokenManager(source, { clock, fetchTimeoutMs: 5_000 });
  const events: unknown[] = [];
  const eventsHeard = new Set<string>();
  for (const event of [
    "refreshed",
    "refreshFailed",
    "expired",
    "recovered",
    "subscriberError",
  ] as const) {
    manager.on(event, (payload: unknown) => {
      events.push(payload);
      eventsHeard.add(event);
    });
  }
  const delivered: RedisCredentials[] = [];
  for (let i = 0; i < 3; i++) {
    manager.subscribe((credentials) => {
      delivered.push(credentials);
    });
  }
  manager.subscribe(() => {
    throw new Error("subscriber failed to re-authenticate");
  });
  manager.subscribe(async () => {
    throw new Error("subscriber rejected");
  });
  const errors: unknown[] = [];
  const snapshot = () => scanner.collect(manager.status(), manager.peekCredentials(), manager);
  /** Runs `call` while time moves on far enough for a retry or a fetch timeout to happen. */
  const withTime = async <T>(call: () => Promise<T>, ms = 6_000) => {
    const outcome = settle(call());
    await clock.advance(ms);
    return outcome;
  };
  const forced = async () => {
    await clock.advance(10_000); // past minRefreshIntervalMs
    const outcome = await withTime(() => manager.refresh());
    if (outcome.ok) scanner.collect(outcome.value);
    else errors.push(outcome.error);
    snapshot();
    return outcome;
  };

  snapshot();
  const first = await manager.getCredentials();
  expect(first.password).toBe(secret(1));
  snapshot();

  // Scheduled refresh and a staggered fan-out.
  await clock.advance(50 * MINUTE);
  snapshot();
  expect(delivered.length).toBe(3);
  // A forced refresh, and one with credentials a source wrapped itself.
  expect((await forced()).ok).toBe(true);
  mode = "helper";
  expect((await forced()).ok).toBe(true);
  // The same credentials again, then with a later expiry.
  mode = "same";
  expect((await forced()).ok).toBe(true);
  mode = "same-later";
  expect((await forced()).ok).toBe(true);

  // Malformed answers: each carries the token in a field we must not echo.
  for (const bad of [
    "string",
    "expires-string",
    "expires-nan",
    "expires-past",
    "username-object",
    "username-number",
    "refresh-at-string",
  ] as const) {
    mode = bad;
    const outcome = await forced();
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(CredentialsFetchError);
  }
  // A failure, a hung fetch aborted by the timeout, a permanent failure.
  mode = "fail";
  expect((await forced()).ok).toBe(false);
  mode = "hang";
  expect((await forced()).ok).toBe(false);
  mode = "permanent";
  expect((await forced()).ok).toBe(false);

  // An outage long enough for the credentials to expire; a caller waits and is told.
  mode = "fail";
  await clock.advance(3 * HOUR);
  snapshot();
  expect(manager.peekCredentials()).toBeUndefined();
  const waiting = await withTime(() => manager.getCredentials(), 31_000);
  expect(waiting.ok).toBe(false);
  if (!waiting.ok) errors.push(waiting.error);
  // ... then recovery.
  mode = "ok";
  // (the next retry is at most retry.maxDelayMs away)
  const recovered = await withTime(() => manager.getCredentials(), 31_000);
  expect(recovered.ok).toBe(true);
  await clock.advance(MINUTE);
  if (recovered.ok) scanner.collect(recovered.value);
  snapshot();

  await manager.dispose();
  for (const call of [() => manager.getCredentials(), () => manager.refresh()]) {
    errors.push((await settle(call())) as unknown);
  }
  for (const call of [
    () => manager.subscribe(() => {}),
    () => manager.peekCredentials(),
    () => manager.on("expired", () => {}),
  ]) {
    try {
      call();
    } catch (error) {
      errors.push(error);
    }
  }
  scanner.collect(manager.status(), manager);

  // A manager whose first fetch fails on malformed credentials.
  mode = "expires-string";
  const other = createTokenManager(source, { clock });
  const firstFailure = await settle(other.getCredentials());
  expect(firstFailure.ok).toBe(false);
  errors.push((firstFailure as { error: unknown }).error);
  scanner.collect(other.status(), other);
  await other.dispose();

  for (const name of Object.values(diagnosticsChannels))
    diagnosticsChannel.unsubscribe(name, onMessage);
  for (const spy of consoleSpies) spy.mockRestore();
  warningSpy.mockRestore();

  // The scenario really went everywhere ...
  const errorNames = new Set(errors.map((e) => (e instanceof Error ? e.name : "?")));
  expect(errorNames).toContain("CredentialsFetchError");
  expect(errorNames).toContain("CredentialsExpiredError");
  expect(errorNames).toContain("ManagerDisposedError");
  expect(errors.some((e) => e instanceof CredentialsExpiredError)).toBe(true);
  expect(errors.some((e) => e instanceof ManagerDisposedError)).toBe(true);
  // Every manager channel; `reauth` comes from connection sessions, whose messages are checked
  // for secrets in connection-session.test.ts.
  expect([...channelsHeard].sort()).toEqual(
    Object.values(diagnosticsChannels)
      .filter((name) => name !== diagnosticsChannels.reauth)
      .sort(),
  );
  expect([...eventsHeard].sort()).toEqual(
    ["expired", "recovered", "refreshFailed", "refreshed", "subscriberError"].sort(),
  );
  expect(channelMessages.length).toBeGreaterThan(20);
  expect(events.length).toBeGreaterThan(20);
  expect(delivered.length).toBeGreaterThanOrEqual(9);
  // ... and the password is readable where it should be.
  expect(delivered.every((c) => c.password.startsWith(TOKEN))).toBe(true);
  expect(first.password).toBe(secret(1));

  scanner.collect(...events, ...errors, ...channelMessages, ...printed, ...delivered, first);
  expect(scanner.texts.length).toBeGreaterThan(500);
  scanner.expectNoneContain(TOKEN);
});

test("credentials never show their password in inspect, JSON, String(), templates or spread, yet it reads back", () => {
  const scanner = new Scanner();
  const made = createCredentials({
    username: "svc-user",
    password: secret(1),
    expiresAt: Date.UTC(2030, 0, 1),
    refreshAt: Date.UTC(2029, 11, 31),
  });
  expect(made.password).toBe(secret(1));
  expect(made.username).toBe("svc-user");
  expect(made.refreshAt).toBe(Date.UTC(2029, 11, 31));
  const copy = { ...made };
  expect(copy).not.toHaveProperty("password");
  scanner.collect(made, [made], { nested: { deeper: made } }, new Map([["c", made]]), copy);
  scanner.texts.push(`${made}`, `login ${made.username}: ${made}`, JSON.stringify({ made }));
  scanner.collect(structuredClone(made), Object.entries(made), Object.keys(made));
  // Copied by field, as the docs say, the password survives.
  expect({ ...made, password: made.password }.password).toBe(secret(1));
  scanner.expectNoneContain(TOKEN);
});

test("staticCredentials hides its password in the source and in what it fetches", async () => {
  const scanner = new Scanner();
  const source = staticCredentials({ username: "svc-user", password: secret(7) });
  const fetched = await source.fetch({ signal: new AbortController().signal, reason: "initial" });
  expect(fetched.password).toBe(secret(7));
  expect(fetched.expiresAt).toBe(Number.POSITIVE_INFINITY);
  const clock = new FakeClock();
  const manager = createTokenManager(source, { clock });
  const held = await manager.getCredentials();
  expect(held.password).toBe(secret(7));
  scanner.collect(source, fetched, held, manager.status(), manager);
  await manager.dispose();
  // Invalid options name the field, never the password given alongside.
  for (const options of [
    { username: "", password: secret(8) },
    { username: 42 as unknown as string, password: secret(9) },
  ]) {
    const thrown = thrownBy(() => staticCredentials(options));
    expect(thrown).toBeInstanceOf(InvalidOptionsError);
    scanner.collect(thrown);
  }
  scanner.expectNoneContain(TOKEN);
});

test("credentialsFromJwt hides the token; decodeJwtClaims and credentialsFromJwt errors never contain it", () => {
  const scanner = new Scanner();
  const header = b64(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const signature = b64(`signature-${TOKEN}`).replace(/=+$/, "");
  const exp = Math.floor(Date.UTC(2030, 0, 1) / 1000);
  const jwt = (claims: unknown) => `${header}.${b64(JSON.stringify(claims))}.${signature}`;

  const good = jwt({ oid: "object-id", exp, note: TOKEN });
  const credentials = credentialsFromJwt(good);
  expect(credentials.password).toBe(good);
  expect(credentials.username).toBe("object-id");
  expect(credentials.expiresAt).toBe(exp * 1000);
  scanner.collect(credentials, credentialsFromJwt(good, { username: "mapped-user" }));

  const malformed = [
    TOKEN,
    `${TOKEN}.${TOKEN}`,
    `${TOKEN}.${TOKEN}.${TOKEN}.${TOKEN}`,
    `${header}.${TOKEN}!.${signature}`,
    `${TOKEN}$.${b64("{}")}.${signature}`,
    `${header}.${b64(`not json ${TOKEN}`)}.${signature}`,
    `${header}.${b64(JSON.stringify([TOKEN]))}.${signature}`,
    `${header}.${b64(JSON.stringify(TOKEN))}.${signature}`,
    `${b64(TOKEN)}.${b64("{}")}.${signature}`,
    `${header}..${signature}`,
  ];
  for (const token of malformed) {
    for (const decode of [() => decodeJwtClaims(token), () => credentialsFromJwt(token)]) {
      const thrown = thrownBy(decode);
      expect(thrown).toBeInstanceOf(InvalidTokenError);
      scanner.collect(thrown);
    }
  }
  // Well-formed, but not usable as credentials.
  for (const token of [
    jwt({ oid: "object-id", note: TOKEN }),
    jwt({ exp, sub: TOKEN }),
    jwt({ exp: `${TOKEN}`, oid: "x" }),
  ]) {
    const thrown = thrownBy(() => credentialsFromJwt(token));
    expect(thrown).toBeInstanceOf(InvalidTokenError);
    scanner.collect(thrown);
    scanner.texts.push((thrown as Error).message);
    expect((thrown as Error).message).not.toContain(token);
    expect((thrown as Error).message).not.toContain(signature);
  }
  scanner.expectNoneContain(TOKEN);
  scanner.expectNoneContain(signature);
  scanner.expectNoneContain(good);
});
