import { inspect } from "node:util";
import { refusedPassword, scrubAuthError } from "../../src/scrub-auth-error";

// ioredis's reply errors carry `command: { name, args }`; a refused AUTH's args hold the token.

const TOKEN = "eyJ.secret-token.sig";

function replyError(name: string, args: unknown[]): Error & { command?: unknown } {
  const error = new Error("WRONGPASS invalid username-password pair or user is disabled.");
  error.name = "ReplyError";
  return Object.assign(error, { command: { name, args } });
}

test.each([
  ["AUTH password", "auth", [TOKEN], ["[redacted]"]],
  ["AUTH user password", "auth", ["app", TOKEN], ["app", "[redacted]"]],
  [
    "HELLO 3 AUTH user password SETNAME name",
    "hello",
    ["3", "AUTH", "app", Buffer.from(TOKEN), "SETNAME", "worker"],
    ["3", "AUTH", "app", "[redacted]", "SETNAME", "worker"],
  ],
])("%s: the token is redacted in place, the user name kept", (_, name, args, expected) => {
  const error = replyError(name, args);
  expect(scrubAuthError(error)).toBe(error);
  expect((error.command as { args: unknown[] }).args).toEqual(expected);
  expect(inspect(error, { depth: Number.POSITIVE_INFINITY })).not.toContain(TOKEN);
  expect(error.message).toMatch(/^WRONGPASS/);
  expect(refusedPassword(error)).toBe(TOKEN);
  // Idempotent: scrubbing again changes nothing.
  expect(scrubAuthError(error)).toBe(error);
  expect(refusedPassword(error)).toBe(TOKEN);
});

test("other commands' errors, HELLO without AUTH and non-errors are left alone", () => {
  const get = replyError("get", ["key"]);
  expect(scrubAuthError(get)).toBe(get);
  expect((get.command as { args: unknown[] }).args).toEqual(["key"]);
  const hello = replyError("hello", ["3"]);
  scrubAuthError(hello);
  expect((hello.command as { args: unknown[] }).args).toEqual(["3"]);
  expect(scrubAuthError("text")).toBe("text");
  expect(scrubAuthError(undefined)).toBeUndefined();
});

test("a frozen error is replaced by a scrubbed copy of the same class, name and message", () => {
  class ReplyError extends Error {
    override name = "ReplyError";
  }
  const error = Object.freeze(
    Object.assign(new ReplyError("WRONGPASS nope"), {
      command: { name: "auth", args: ["app", TOKEN] },
    }),
  );
  const copy = scrubAuthError(error);
  expect(copy).not.toBe(error);
  expect(copy).toBeInstanceOf(ReplyError);
  expect(copy.name).toBe("ReplyError");
  expect(copy.message).toBe("WRONGPASS nope");
  expect(inspect(copy, { depth: Number.POSITIVE_INFINITY })).not.toContain(TOKEN);
  expect((copy.command as { args: unknown[] }).args).toEqual(["app", "[redacted]"]);
});
