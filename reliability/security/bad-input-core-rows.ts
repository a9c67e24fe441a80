import {
  assertKnownOptions,
  assertNoCredentialOptions,
  assertTokenManager,
  type CredentialSource,
  CredentialsFetchError,
  createRejectionTracker,
  createTokenManager,
  credentialsFromJwt,
  decodeJwtClaims,
  InvalidOptionsError,
  InvalidTokenError,
  ManagerDisposedError,
  SessionGroup,
  staticCredentials,
  type TokenManagerOptions,
} from "@redis-credentials/core";
import { type BadInputContext, jwtWith, never } from "./bad-input-context";
import { type BadInputRow, SECRET } from "./bad-input-row";

const valid: CredentialSource = staticCredentials({ password: SECRET });

/** `createTokenManager(valid, options)`, for the option rows. */
function managerWith(context: BadInputContext, options: unknown) {
  return () =>
    context.track(createTokenManager(valid, options as TokenManagerOptions), (manager) =>
      manager.dispose(),
    );
}

/** The token manager's options, one wrong at a time. */
function managerOptionRows(context: BadInputContext): BadInputRow[] {
  const entry = "core.createTokenManager";
  const option = (input: string, options: unknown, name: string): BadInputRow => ({
    entry,
    input,
    run: managerWith(context, options),
    error: InvalidOptionsError,
    message: `\`${name}\``,
  });
  return [
    option("options a string", "fast", "options"),
    option("options an array", [], "options"),
    option("refreshRatio NaN", { refreshRatio: Number.NaN }, "refreshRatio"),
    option("refreshRatio 1.5 (out of range)", { refreshRatio: 1.5 }, "refreshRatio"),
    option("refreshRatio a string", { refreshRatio: "0.5" }, "refreshRatio"),
    option("fetchTimeoutMs Infinity", { fetchTimeoutMs: Infinity }, "fetchTimeoutMs"),
    option("fetchTimeoutMs 0", { fetchTimeoutMs: 0 }, "fetchTimeoutMs"),
    option("fetchTimeoutMs negative", { fetchTimeoutMs: -1 }, "fetchTimeoutMs"),
    option(
      "refreshBeforeExpiryMs NaN",
      { refreshBeforeExpiryMs: Number.NaN },
      "refreshBeforeExpiryMs",
    ),
    option("minRefreshIntervalMs a string", { minRefreshIntervalMs: "5s" }, "minRefreshIntervalMs"),
    option("refreshJitterMs negative", { refreshJitterMs: -5 }, "refreshJitterMs"),
    option("reauthSpreadMs -Infinity", { reauthSpreadMs: -Infinity }, "reauthSpreadMs"),
    option("retry a number", { retry: 5 }, "retry"),
    option(
      "retry.initialDelayMs NaN",
      { retry: { initialDelayMs: Number.NaN } },
      "retry.initialDelayMs",
    ),
    option(
      "retry.maxDelayMs below retry.initialDelayMs",
      { retry: { initialDelayMs: 1_000, maxDelayMs: 10 } },
      "retry.maxDelayMs",
    ),
    option("retry.multiplier below 1", { retry: { multiplier: 0.5 } }, "retry.multiplier"),
    option(
      "retry.isRetryable not a function",
      { retry: { isRetryable: "yes" } },
      "retry.isRetryable",
    ),
    option("clock without setTimeout", { clock: { now: () => 0 } }, "clock"),
    option("unknown top-level key (fetchTimeout)", { fetchTimeout: 1_000 }, "fetchTimeout"),
    option("unknown nested key (retry.maxDelay)", { retry: { maxDelay: 1_000 } }, "retry.maxDelay"),
  ];
}

/** The rest of the core's entry points. */
function coreEntryRows(context: BadInputContext): BadInputRow[] {
  return [
    {
      entry: "core.createTokenManager",
      input: "no source",
      run: () => createTokenManager(undefined as never),
      error: InvalidOptionsError,
      message: "`source`",
    },
    {
      entry: "core.createTokenManager",
      input: "a source with an empty name",
      run: () => createTokenManager({ name: "", fetch: async () => undefined } as never),
      error: InvalidOptionsError,
      message: "`source`",
    },
    {
      entry: "core.createTokenManager",
      input: "a source without fetch",
      run: () => createTokenManager({ name: "x" } as never),
      error: InvalidOptionsError,
      message: "fetch",
    },
    {
      entry: "core.TokenManager.subscribe",
      input: "a listener that is not a function",
      run: () => context.manager().subscribe("listener" as never),
      error: InvalidOptionsError,
      message: "`listener`",
    },
    {
      entry: "core.TokenManager.on",
      input: "an unknown event name (refresh)",
      run: () => context.manager().on("refresh" as never, (() => {}) as never),
      error: InvalidOptionsError,
      message: "refresh",
    },
    {
      entry: "core.TokenManager.on",
      input: "a handler that is not a function",
      run: () => context.manager().on("refreshed", 42 as never),
      error: InvalidOptionsError,
      message: "`handler`",
    },
    {
      entry: "core.TokenManager.getCredentials",
      input: "a signal that is not an AbortSignal",
      run: () => context.manager().getCredentials({ signal: {} as never }),
      error: InvalidOptionsError,
      message: "`signal`",
    },
    {
      entry: "core.TokenManager.getCredentials",
      input: "a disposed manager",
      run: () => context.disposedManager().getCredentials(),
      error: ManagerDisposedError,
      message: "disposed",
    },
    {
      entry: "core.TokenManager.peekCredentials",
      input: "a disposed manager",
      run: () => context.disposedManager().peekCredentials(),
      error: ManagerDisposedError,
      message: "disposed",
    },
    {
      entry: "core.staticCredentials",
      input: "no password",
      run: () => staticCredentials({} as never),
      error: InvalidOptionsError,
      message: "`password`",
    },
    {
      entry: "core.staticCredentials",
      input: "password a number",
      run: () => staticCredentials({ password: 42 } as never),
      error: InvalidOptionsError,
      message: "`password`",
    },
    {
      entry: "core.staticCredentials",
      input: "an empty username",
      run: () => staticCredentials({ username: "", password: SECRET }),
      error: InvalidOptionsError,
      message: "`username`",
    },
    {
      entry: "core.staticCredentials",
      input: "options null",
      run: () => staticCredentials(null as never),
      error: InvalidOptionsError,
      message: "`options`",
    },
    {
      entry: "core.staticCredentials",
      input: "unknown key user (for username)",
      run: () => staticCredentials({ user: "app", password: SECRET } as never),
      error: InvalidOptionsError,
      message: "user",
    },
    {
      entry: "core.credentialsFromJwt",
      input: "a token that is not a JWT",
      run: () => credentialsFromJwt(SECRET),
      error: InvalidTokenError,
      message: "not a JWT",
    },
    {
      entry: "core.credentialsFromJwt",
      input: "a token that is a number",
      run: () => credentialsFromJwt(42 as never),
      error: InvalidTokenError,
      message: "string",
    },
    {
      entry: "core.credentialsFromJwt",
      input: "a JWT without exp",
      run: () => credentialsFromJwt(jwtWith({ oid: "app" })),
      error: InvalidTokenError,
      message: "`exp`",
    },
    {
      entry: "core.credentialsFromJwt",
      input: "unknown key user (for username)",
      run: () => credentialsFromJwt(jwtWith({ exp: 4e9 }), { user: "app" } as never),
      error: InvalidOptionsError,
      message: "user",
    },
    {
      entry: "core.decodeJwtClaims",
      input: "a payload that is not JSON",
      run: () => decodeJwtClaims("eyJhbGciOiJub25lIn0.bm90IGpzb24.c2ln"),
      error: InvalidTokenError,
      message: "payload",
    },
    {
      entry: "core.assertKnownOptions",
      input: "an unknown key",
      run: () => assertKnownOptions({ allowInsecureTransprt: true }, ["allowInsecureTransport"]),
      error: InvalidOptionsError,
      message: "allowInsecureTransprt",
    },
    {
      entry: "core.assertTokenManager",
      input: "a plain object for the manager",
      run: () => assertTokenManager({} as never, "bind"),
      error: InvalidOptionsError,
      message: "`manager`",
    },
    {
      entry: "core.assertNoCredentialOptions",
      input: "a password in client options",
      run: () => assertNoCredentialOptions({ password: SECRET }, "options"),
      error: InvalidOptionsError,
      message: "`options`",
    },
    {
      entry: "core.createRejectionTracker",
      input: "unknown key maxDelay",
      run: () => createRejectionTracker(context.manager(), { maxDelay: 5 } as never),
      error: InvalidOptionsError,
      message: "maxDelay",
    },
    {
      entry: "core.SessionGroup",
      input: "a plain object for the manager",
      run: () => new SessionGroup({} as never),
      error: InvalidOptionsError,
      message: "`manager`",
    },
  ];
}

/** A source handing the manager garbage: the first fetch rejects, naming what was wrong. */
function garbageSourceRows(context: BadInputContext): BadInputRow[] {
  const future = () => Date.now() + 60_000;
  const returning = (
    input: string,
    value: () => unknown,
    message: string | RegExp,
  ): BadInputRow => ({
    entry: "core.CredentialSource.fetch (via getCredentials)",
    input,
    run: () => context.firstFetch(context.source(async () => value())),
    error: CredentialsFetchError,
    message,
  });
  return [
    returning("returns undefined", () => undefined, "`credentials`"),
    returning("returns null", () => null, "`credentials`"),
    returning("returns a string", () => SECRET, "`credentials`"),
    returning("returns an array", () => [SECRET], "`credentials`"),
    returning(
      "returns { password: 42 }",
      () => ({ username: "app", password: 42, expiresAt: future() }),
      "`password`",
    ),
    returning(
      "returns no username",
      () => ({ password: SECRET, expiresAt: future() }),
      "`username`",
    ),
    returning(
      "returns expiresAt in the past",
      () => ({ username: "app", password: SECRET, expiresAt: Date.now() - 60_000 }),
      /`expiresAt` is in the past/,
    ),
    returning(
      "returns expiresAt NaN",
      () => ({ username: "app", password: SECRET, expiresAt: Number.NaN }),
      "`expiresAt`",
    ),
    returning(
      "returns expiresAt a string",
      () => ({ username: "app", password: SECRET, expiresAt: new Date(future()).toISOString() }),
      "`expiresAt`",
    ),
    returning(
      "returns expiresAt in epoch seconds",
      () => ({ username: "app", password: SECRET, expiresAt: Math.floor(future() / 1000) }),
      "epoch seconds",
    ),
    returning(
      "returns refreshAt a string",
      () => ({ username: "app", password: SECRET, expiresAt: future(), refreshAt: "soon" }),
      "`refreshAt`",
    ),
    {
      entry: "core.CredentialSource.fetch (via getCredentials)",
      input: "throws a string (not an Error)",
      run: () =>
        context.firstFetch(
          context.source(async () => {
            throw "identity provider said no";
          }),
        ),
      error: CredentialsFetchError,
      message: "identity provider said no",
    },
    {
      entry: "core.CredentialSource.fetch (via getCredentials)",
      input: "throws undefined",
      run: () =>
        context.firstFetch(
          context.source(async () => {
            throw undefined;
          }),
        ),
      error: CredentialsFetchError,
      message: 'source "garbage" failed',
    },
    {
      entry: "core.CredentialSource.fetch (via getCredentials)",
      input: "throws synchronously (fetch not async)",
      run: () =>
        context.firstFetch(
          context.source(() => {
            throw new TypeError("cannot read the token file");
          }),
        ),
      error: CredentialsFetchError,
      message: "cannot read the token file",
      cause: TypeError,
    },
    {
      entry: "core.CredentialSource.fetch (via getCredentials)",
      input: "never settles (fetchTimeoutMs 300)",
      run: () => context.firstFetch(context.source(() => never())),
      error: CredentialsFetchError,
      message: "within 300 ms (fetchTimeoutMs)",
      withinMs: 3_000,
    },
  ];
}

export function coreRows(context: BadInputContext): BadInputRow[] {
  return [...managerOptionRows(context), ...coreEntryRows(context), ...garbageSourceRows(context)];
}
