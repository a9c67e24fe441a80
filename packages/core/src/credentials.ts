import { assertKnownOptions } from "./assert-known-options";
import { CredentialsFetchError, InvalidOptionsError } from "./errors";
import type { CredentialSource, RedisCredentials } from "./types";

const inspectCustom = Symbol.for("nodejs.util.inspect.custom");

/**
 * Credentials whose password is readable but never shown: it lives in a private field behind a
 * getter, so `util.inspect`, `JSON.stringify`, `String()` and object spread all leave it out.
 */
class Credentials implements RedisCredentials {
  readonly #password: string;
  readonly username: string;
  readonly expiresAt: number;
  declare readonly refreshAt?: number;

  constructor(fields: RedisCredentials) {
    this.username = fields.username;
    this.#password = fields.password;
    this.expiresAt = fields.expiresAt;
    if (fields.refreshAt !== undefined) this.refreshAt = fields.refreshAt;
    Object.freeze(this);
  }

  get password(): string {
    return this.#password;
  }

  toJSON() {
    return {
      username: this.username,
      password: "[redacted]",
      expiresAt: this.expiresAt,
      ...(this.refreshAt !== undefined && { refreshAt: this.refreshAt }),
    };
  }

  toString() {
    return `RedisCredentials(username=${this.username}, password=[redacted])`;
  }

  [inspectCustom]() {
    const refreshAt = this.refreshAt === undefined ? "" : `, refreshAt: ${this.refreshAt}`;
    return `RedisCredentials { username: ${JSON.stringify(this.username)}, password: [redacted], expiresAt: ${this.expiresAt}${refreshAt} }`;
  }
}

/**
 * Wraps plain credentials in an object that hides the password from logs. The manager does this
 * to everything a source returns; sources may use it too.
 */
export function createCredentials(fields: RedisCredentials): RedisCredentials {
  return new Credentials(fields);
}

/** Same user name and same password: the same credentials, whatever their expiry says. */
export function sameCredentials(
  a: Pick<RedisCredentials, "username" | "password">,
  b: Pick<RedisCredentials, "username" | "password">,
): boolean {
  return a.username === b.username && a.password === b.password;
}

/**
 * Checks what a source returned and says which field is wrong, never echoing the password.
 * Returns a hidden-password copy.
 */
export function validateSourceResult(
  source: string,
  value: unknown,
  now: number,
): RedisCredentials {
  const fail = (field: string, problem: string) =>
    new CredentialsFetchError(
      source,
      `Credential source "${source}" returned invalid credentials: \`${field}\` ${problem}.`,
      { field },
    );
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fail(
      "credentials",
      `must be an object with username, password and expiresAt, got ${describe(value)}`,
    );
  }
  const { username, password, expiresAt, refreshAt } = value as Record<string, unknown>;
  if (typeof username !== "string" || username.length === 0) {
    throw fail(
      "username",
      `must be a non-empty string (use 'default' where the server wants no user name), got ${typeof username === "string" ? "an empty string" : describe(username)}`,
    );
  }
  if (typeof password !== "string" || password.length === 0) {
    throw fail(
      "password",
      `must be a non-empty string, got ${typeof password === "string" ? "an empty string" : describe(password)}`,
    );
  }
  if (typeof expiresAt !== "number" || Number.isNaN(expiresAt)) {
    throw fail(
      "expiresAt",
      `must be a number of epoch milliseconds (Infinity for credentials that never expire), got ${describe(expiresAt)}`,
    );
  }
  // Whole milliseconds, rounded down so that an expiry is never read as later than it is.
  const expiry = Math.floor(expiresAt);
  if (expiry <= now && looksLikeEpochSeconds(expiresAt, now)) {
    throw fail(
      "expiresAt",
      `looks like epoch seconds (${expiresAt}), not milliseconds: multiply it by 1000 (a JWT's \`exp\` and most \`expires_on\` fields are seconds)`,
    );
  }
  if (expiry <= now) {
    throw fail(
      "expiresAt",
      `is in the past (${isoTime(expiresAt)}): the source handed out credentials that have already expired`,
    );
  }
  if (refreshAt !== undefined && (typeof refreshAt !== "number" || !Number.isFinite(refreshAt))) {
    throw fail(
      "refreshAt",
      `must be a finite number of epoch milliseconds when present, got ${describe(refreshAt)}`,
    );
  }
  return createCredentials({
    username,
    password,
    expiresAt: expiry,
    ...(refreshAt !== undefined ? { refreshAt: Math.floor(refreshAt) } : {}),
  });
}

/** An expiry in the past that would be in the future as seconds: the usual unit slip. */
function looksLikeEpochSeconds(expiresAt: number, now: number): boolean {
  return expiresAt > 0 && expiresAt * 1000 > now && expiresAt < now / 100;
}

function isoTime(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? `${epochMs} ms` : date.toISOString();
}

/** A description of a value for error messages that never includes its content. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : `the number ${value}`;
  if (typeof value === "string") return "a string";
  return typeof value === "object" ? "an object" : typeof value;
}

/**
 * A source that always returns the same credentials, which never expire: for access keys and
 * passwords. The manager then schedules no refresh at all.
 */
export function staticCredentials(options: {
  /** @default 'default' */
  username?: string;
  password: string;
}): CredentialSource {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "pass { username?, password }.");
  }
  assertKnownOptions(options, ["username", "password"], {
    user: "the user name is `username` (default 'default').",
    token: "the token or password is `password`.",
  });
  const { username = "default", password } = options;
  if (typeof username !== "string" || username.length === 0) {
    throw new InvalidOptionsError("username", "must be a non-empty string (default 'default').");
  }
  if (typeof password !== "string" || password.length === 0) {
    throw new InvalidOptionsError("password", "must be a non-empty string.");
  }
  const credentials = createCredentials({
    username,
    password,
    expiresAt: Number.POSITIVE_INFINITY,
  });
  return {
    name: "static",
    fetch: async () => credentials,
  };
}
