import {
  CredentialSourceError,
  CredentialsError,
  CredentialsExpiredError,
  CredentialsFetchError,
  CredentialsRejectedError,
  createTokenManager,
  InsecureTransportError,
  InvalidOptionsError,
  InvalidTokenError,
  isPermanent,
  ManagerDisposedError,
  markPermanent,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { HOUR, MINUTE, settle } from "../sources";

const cause = new Error("the underlying failure");

describe("error classes", () => {
  const cases: [string, Error, abstract new (...args: never) => Error][] = [
    ["CredentialsError", new CredentialsError("base", { cause }), CredentialsError],
    [
      "InvalidOptionsError",
      new InvalidOptionsError("retry.initialDelayMs", "must be > 0."),
      InvalidOptionsError,
    ],
    [
      "CredentialsFetchError",
      new CredentialsFetchError("entra-id", "fetch failed", { cause }),
      CredentialsFetchError,
    ],
    [
      "CredentialsExpiredError",
      new CredentialsExpiredError("expired", { cause }),
      CredentialsExpiredError,
    ],
    ["ManagerDisposedError", new ManagerDisposedError("refresh credentials"), ManagerDisposedError],
    ["InvalidTokenError", new InvalidTokenError("not a JWT", { cause }), InvalidTokenError],
    [
      "CredentialsRejectedError",
      new CredentialsRejectedError("entra-id", "app-user", { cause }),
      CredentialsRejectedError,
    ],
    [
      "InsecureTransportError",
      new InsecureTransportError("localhost:6379"),
      InsecureTransportError,
    ],
    [
      "CredentialSourceError",
      new CredentialSourceError("no token", { code: "Throttling", retryable: true, cause }),
      CredentialSourceError,
    ],
  ];

  test.each(cases)(
    "%s has its name, extends CredentialsError and Error, and shows its name in the stack",
    (name, error, cls) => {
      expect(error).toBeInstanceOf(cls);
      expect(error).toBeInstanceOf(CredentialsError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(String(error)).toMatch(new RegExp(`^${name}: `));
      expect(error.stack?.startsWith(`${name}: `)).toBe(true);
      expect(Object.prototype.toString.call(error)).toBe("[object Error]");
    },
  );

  test("cause is attached where one is given", () => {
    for (const [, error] of cases) {
      if (
        error instanceof InvalidOptionsError ||
        error instanceof ManagerDisposedError ||
        error instanceof InsecureTransportError
      )
        continue;
      expect(error.cause).toBe(cause);
    }
    expect(new CredentialsError("no cause").cause).toBeUndefined();
    expect("cause" in new CredentialsError("no cause")).toBe(false);
  });

  test("InvalidOptionsError names the option; CredentialsFetchError names its source and field", () => {
    const invalid = new InvalidOptionsError("retry.initialDelayMs", "must be greater than 0.");
    expect(invalid.option).toBe("retry.initialDelayMs");
    expect(invalid.message).toBe("Invalid option `retry.initialDelayMs`: must be greater than 0.");
    const fetch = new CredentialsFetchError("aws-iam", "bad answer", { field: "expiresAt" });
    expect(fetch.source).toBe("aws-iam");
    expect(fetch.field).toBe("expiresAt");
    expect(new CredentialsFetchError("aws-iam", "x").field).toBeUndefined();
    expect(new ManagerDisposedError("refresh credentials").message).toContain(
      "refresh credentials",
    );
  });

  test("errors from one class are not mistaken for another", () => {
    expect(new CredentialsFetchError("s", "m")).not.toBeInstanceOf(CredentialsExpiredError);
    expect(new InvalidTokenError("m")).not.toBeInstanceOf(InvalidOptionsError);
    expect(new Error("plain")).not.toBeInstanceOf(CredentialsError);
  });
});

describe("markPermanent and isPermanent", () => {
  test("markPermanent returns the same error, marked, without changing what it shows", () => {
    const error = new Error("access denied");
    const keysBefore = Object.keys(error);
    const json = JSON.stringify(error);
    expect(isPermanent(error)).toBe(false);
    expect(markPermanent(error)).toBe(error);
    expect(isPermanent(error)).toBe(true);
    expect(Object.keys(error)).toEqual(keysBefore);
    expect(JSON.stringify(error)).toBe(json);
    expect(error.message).toBe("access denied");
    // Marking twice is harmless.
    expect(markPermanent(error)).toBe(error);
    expect(isPermanent(error)).toBe(true);
  });

  test("marks are per error: another error of the same class is not permanent", () => {
    markPermanent(new TypeError("a"));
    expect(isPermanent(new TypeError("b"))).toBe(false);
    markPermanent(new CredentialsFetchError("s", "m"));
    expect(isPermanent(new CredentialsFetchError("s", "m"))).toBe(false);
  });

  test("isPermanent reads the mark through a cause chain", () => {
    const root = markPermanent(new Error("root"));
    const wrapped = new Error("middle", { cause: root });
    const outer = new CredentialsFetchError("src", "outer", { cause: wrapped });
    expect(isPermanent(wrapped)).toBe(true);
    expect(isPermanent(outer)).toBe(true);
    expect(isPermanent(new Error("unrelated", { cause: new Error("also unrelated") }))).toBe(false);
  });

  test("isPermanent terminates on a cyclic cause chain", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isPermanent(a)).toBe(false);
  });

  test.each([
    ["a string", "invalid_client"],
    ["a number", 401],
    ["undefined", undefined],
    ["null", null],
    ["a plain object", { code: "AccessDenied" }],
  ])(
    "markPermanent(%s) wraps it in a permanent CredentialsError with the value as cause",
    (_label, value) => {
      const marked = markPermanent(value);
      expect(marked).toBeInstanceOf(CredentialsError);
      expect(marked.cause).toBe(value);
      expect(isPermanent(marked)).toBe(true);
    },
  );

  test.each([undefined, null, "x", 0, {}, [], () => {}])(
    "isPermanent(%p) of an unmarked value is false",
    (value) => {
      expect(isPermanent(value)).toBe(false);
    },
  );
});

describe("CredentialSourceError, the base of the credential sources' errors", () => {
  class VaultError extends CredentialSourceError<"permission denied" | "sealed"> {
    override name = "VaultError";
  }

  test("carries code, status, retryable and cause; one that is not retryable is permanent", () => {
    const refused = new VaultError("Vault refused the lease.", {
      code: "permission denied",
      retryable: false,
      status: 403,
      cause,
    });
    expect(refused).toMatchObject({ name: "VaultError", code: "permission denied", status: 403 });
    expect(refused.retryable).toBe(false);
    expect(refused.cause).toBe(cause);
    expect(isPermanent(refused)).toBe(true);
    expect(refused).toBeInstanceOf(CredentialSourceError);
    expect(String(refused)).toBe("VaultError: Vault refused the lease.");

    const sealed = new VaultError("Vault is sealed.", { code: "sealed", retryable: true });
    expect(sealed.status).toBeUndefined();
    expect(isPermanent(sealed)).toBe(false);
  });
});

describe("the manager's errors carry their cause, and honour the permanent mark", () => {
  function failingSource(clock: FakeClock, failure: () => unknown) {
    let fail = false;
    let n = 0;
    return {
      name: "src",
      setFailing(value: boolean) {
        fail = value;
      },
      fetch: jest.fn(async () => {
        if (fail) throw failure();
        return { username: "u", password: `p-${++n}`, expiresAt: clock.now() + HOUR };
      }),
    };
  }

  test("CredentialsFetchError.cause is what the source threw; CredentialsExpiredError.cause is that fetch error", async () => {
    const clock = new FakeClock();
    const thrown = new Error("HTTP 503");
    const source = failingSource(clock, () => thrown);
    const manager = createTokenManager(source, { clock });
    manager.on("refreshFailed", () => {});
    source.setFailing(true);
    const first = await settle(manager.getCredentials());
    const fetchError = (first as { error: unknown }).error as CredentialsFetchError;
    expect(fetchError).toBeInstanceOf(CredentialsFetchError);
    expect(fetchError.cause).toBe(thrown);
    expect(fetchError.message).toContain("HTTP 503");
    expect(fetchError.message).toContain('"src"');

    source.setFailing(false);
    await manager.getCredentials();
    source.setFailing(true);
    await clock.advance(HOUR + MINUTE);
    expect(manager.peekCredentials()).toBeUndefined();
    const waiting = settle(manager.getCredentials());
    await clock.advance(MINUTE);
    const expired = (await waiting) as { ok: false; error: CredentialsExpiredError };
    expect(expired.error).toBeInstanceOf(CredentialsExpiredError);
    expect(expired.error.cause).toBeInstanceOf(CredentialsFetchError);
    expect((expired.error.cause as Error).cause).toBe(thrown);
    await manager.dispose();
  });

  test("a permanent error (marked directly or deep in the cause) stops the retries; an unmarked one does not", async () => {
    for (const [failure, permanent] of [
      [() => markPermanent(new Error("bad secret")), true],
      [() => new Error("wrapped", { cause: markPermanent(new Error("bad secret")) }), true],
      [() => markPermanent("invalid_client"), true],
      [() => new CredentialSourceError("denied", { code: "denied", retryable: false }), true],
      [() => new Error("timeout"), false],
      [() => new CredentialSourceError("sealed", { code: "sealed", retryable: true }), false],
    ] as const) {
      const clock = new FakeClock();
      const source = failingSource(clock, failure);
      const manager = createTokenManager(source, { clock });
      const failures: unknown[] = [];
      manager.on("refreshFailed", (error) => {
        failures.push(error);
      });
      const held = await manager.getCredentials();
      source.setFailing(true);
      await clock.advance(MINUTE);
      const forced = await settle(manager.refresh());
      expect(forced.ok).toBe(false);
      await clock.advance(10 * MINUTE);
      if (permanent) {
        expect(source.fetch).toHaveBeenCalledTimes(2);
        expect(failures).toHaveLength(1);
        expect(manager.status().nextRefreshAt).toBeUndefined();
      } else {
        expect(source.fetch.mock.calls.length).toBeGreaterThan(10);
        expect(manager.status().nextRefreshAt).toBeGreaterThan(clock.now());
      }
      // Either way the credentials held are served until they expire.
      expect(await manager.getCredentials()).toBe(held);
      await manager.dispose();
    }
  });

  test("a custom isRetryable decides; one that throws does not stop the retries", async () => {
    for (const [isRetryable, retried] of [
      [() => false, false],
      [() => true, true],
      [
        () => {
          throw new Error("broken predicate");
        },
        true,
      ],
    ] as const) {
      const clock = new FakeClock();
      const source = failingSource(clock, () => markPermanent(new Error("x")));
      const manager = createTokenManager(source, { clock, retry: { isRetryable } });
      manager.on("refreshFailed", () => {});
      await manager.getCredentials();
      source.setFailing(true);
      await clock.advance(MINUTE);
      await settle(manager.refresh());
      await clock.advance(10 * MINUTE);
      if (retried) expect(source.fetch.mock.calls.length).toBeGreaterThan(10);
      else expect(source.fetch).toHaveBeenCalledTimes(2);
      await manager.dispose();
    }
  });
});

describe("adapter errors say what to do", () => {
  test("CredentialsRejectedError names the source and user, and points at the Redis user setup", () => {
    const error = new CredentialsRejectedError("entra-id", "0f1e-oid", { cause });
    expect(error.source).toBe("entra-id");
    expect(error.username).toBe("0f1e-oid");
    expect(error.cause).toBe(cause);
    expect(error.message).toMatch(
      /rejected the credentials of user "0f1e-oid" from source "entra-id"/,
    );
    expect(error.message).toMatch(/added as a Redis user/);
  });

  test("InsecureTransportError names the target and both ways out", () => {
    const error = new InsecureTransportError("cache.example:6380");
    expect(error.message).toMatch(/cache\.example:6380/);
    expect(error.message).toMatch(/tls/i);
    expect(error.message).toMatch(/allowInsecureTransport: true/);
  });
});
