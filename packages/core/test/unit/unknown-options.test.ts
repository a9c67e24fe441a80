import {
  assertKnownOptions,
  createRejectionTracker,
  createTokenManager,
  credentialsFromJwt,
  InvalidOptionsError,
  staticCredentials,
} from "../../src";
import { FakeClock } from "../fake-clock";
import { thrownBy } from "../sources";

const source = { name: "s", fetch: () => Promise.reject(new Error("unused")) };

test.each([
  [
    "staticCredentials({ user })",
    () => staticCredentials({ user: "app", password: "p" } as never),
    "user",
    /`username`/,
  ],
  [
    "staticCredentials({ pasword })",
    () => staticCredentials({ pasword: "p", password: "p" } as never),
    "pasword",
    /did you mean `password`\?/,
  ],
  [
    "createTokenManager({ refreshRaito })",
    () => createTokenManager(source, { refreshRaito: 0.5 } as never),
    "refreshRaito",
    /did you mean `refreshRatio`\?/,
  ],
  [
    "createTokenManager({ retry: { maxDelay } })",
    () => createTokenManager(source, { retry: { maxDelay: 5 } } as never),
    "retry.maxDelay",
    /Known options: retry.initialDelayMs/,
  ],
  [
    "createTokenManager({ minhandshakelifetimems })",
    () => createTokenManager(source, { minhandshakelifetimems: 5 } as never),
    "minhandshakelifetimems",
    /did you mean `minHandshakeLifetimeMs`\?/,
  ],
  [
    "createRejectionTracker({ initialDelay })",
    () =>
      createRejectionTracker(createTokenManager(source, { clock: new FakeClock() }), {
        initialDelay: 5,
      } as never),
    "initialDelay",
    /The options are initialDelayMs, maxDelayMs, clock/,
  ],
  [
    "credentialsFromJwt(token, { user })",
    () => credentialsFromJwt("a.b.c", { user: "x" } as never),
    "user",
    /`username`/,
  ],
])("%s is refused, naming the key and what to pass", (_, create, option, message) => {
  const error = thrownBy(create) as InvalidOptionsError;
  expect(error).toBeInstanceOf(InvalidOptionsError);
  expect(error.option).toBe(option);
  expect(error.message).toMatch(message);
});

test("typos get the known option they are closest to; unrelated keys get none", () => {
  const known = ["credential", "clientId", "scopes"];
  expect(() => assertKnownOptions({ credentail: 1 }, known)).toThrow(
    "Invalid option `credentail`: unknown option: did you mean `credential`? The options are credential, clientId, scopes.",
  );
  expect(() => assertKnownOptions({ clientID: 1 }, known)).toThrow(/did you mean `clientId`\?/);
  expect(() => assertKnownOptions({ scope: 1 }, known)).toThrow(/did you mean `scopes`\?/);
  expect(() => assertKnownOptions({ ttl: 1 }, known)).toThrow(
    "Invalid option `ttl`: unknown option. The options are",
  );
});
