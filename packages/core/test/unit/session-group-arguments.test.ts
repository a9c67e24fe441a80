import {
  createTokenManager,
  InvalidOptionsError,
  SessionGroup,
  staticCredentials,
} from "../../src";

// SessionGroup is what adapters build their bindings on, and what an adapter written outside
// this repository constructs: a wrong manager or flag fails at construction, naming it, rather
// than with a TypeError at the first connect. Adapters pass their whole options bag: other keys
// in it are theirs, and pass.

const manager = createTokenManager(staticCredentials({ username: "app", password: "pw" }));
afterAll(() => manager.dispose());

test.each([
  ["a plain object", {}],
  ["null", null],
  ["a string", "manager"],
  [
    "an object missing getCredentials and clock",
    { subscribe() {}, peekCredentials() {}, status() {} },
  ],
])("a manager that is %s is refused with InvalidOptionsError naming `manager`", (_title, bad) => {
  const construct = () => new SessionGroup(bad as never);
  expect(construct).toThrow(InvalidOptionsError);
  expect(construct).toThrow(
    "Invalid option `manager`: must be a token manager from createTokenManager().",
  );
});

test("allowInsecureTransport that is not a boolean is refused", () => {
  expect(() => new SessionGroup(manager, { allowInsecureTransport: "yes" as never })).toThrow(
    "Invalid option `allowInsecureTransport`: must be true or false, not string.",
  );
  expect(() => new SessionGroup(manager, null as never)).toThrow(InvalidOptionsError);
});

test("a token manager, with an adapter's options bag holding keys of its own, is accepted", () => {
  const bag = { allowInsecureTransport: true, onReAuthenticationError: () => {}, target: "x:1" };
  const group = new SessionGroup(manager, bag);
  expect(group.allowInsecureTransport).toBe(true);
  expect(new SessionGroup(manager).allowInsecureTransport).toBe(false);
  group.dispose();
});
