import { channel } from "node:diagnostics_channel";
import {
  createTokenManager,
  diagnosticsChannels,
  InvalidOptionsError,
  ManagerDisposedError,
  staticCredentials,
  type TokenManager,
} from "@redis-credentials/core";
import { instrumentTokenManager } from "../../src";
import { TestMetrics } from "../metrics-reader";

const PASSWORD = "tok-never-in-an-error";

let manager: TokenManager;
let testMetrics: TestMetrics;
beforeEach(() => {
  manager = createTokenManager(staticCredentials({ password: PASSWORD }));
  testMetrics = new TestMetrics();
});
afterEach(async () => {
  await manager.dispose();
  await testMetrics.shutdown();
});

/** What `instrumentTokenManager(...args)` threw, as the test compares it. */
function refusal(...args: unknown[]) {
  try {
    const handle = (instrumentTokenManager as (...a: unknown[]) => { dispose(): void })(...args);
    handle.dispose();
  } catch (error) {
    const { name, message, option } = error as InvalidOptionsError;
    expect(error).toBeInstanceOf(Error);
    expect(message).not.toContain(PASSWORD);
    return { name, option, message };
  }
  return "accepted";
}

test.each([
  ["no manager", undefined],
  ["null", null],
  ["a number", 42],
  ["a plain object", {}],
  ["a credential source", staticCredentials({ password: PASSWORD })],
])("a manager that is not a token manager (%s) is refused", (_title, value) => {
  expect(refusal(value)).toEqual({
    name: "InvalidOptionsError",
    option: "manager",
    message: expect.stringContaining("must be a token manager"),
  });
});

test("a token manager without an id (an older core) is refused, saying what to do", () => {
  // The manager's methods, bound to it (they read private fields), without `id`.
  const older = new Proxy(manager, {
    get(target, key) {
      if (key === "id") return undefined;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  expect(refusal(older)).toEqual({
    name: "InvalidOptionsError",
    option: "manager",
    message: expect.stringContaining("older @redis-credentials/core"),
  });
});

test("a disposed manager is refused with ManagerDisposedError", async () => {
  await manager.dispose();
  expect(() => instrumentTokenManager(manager)).toThrow(ManagerDisposedError);
});

test.each([
  ["a string", "global", "options", "must be an object"],
  ["null", null, "options", "must be an object"],
  ["an array", [], "options", "must be an object"],
  ["an unknown key", { exporter: {} }, "exporter", "unknown option"],
  ["a misspelt key", { meterProvder: {} }, "meterProvder", "did you mean `meterProvider`?"],
  ["a meter instead of a provider (key)", { meter: {} }, "meter", "pass `meterProvider`"],
  ["a reader instead of a provider", { reader: {} }, "reader", "register the reader"],
  ["a meterProvider without getMeter", { meterProvider: {} }, "meterProvider", "getMeter()"],
  ["a meterProvider that is a string", { meterProvider: "otel" }, "meterProvider", "getMeter()"],
  ["a meterProvider that is null", { meterProvider: null }, "meterProvider", "getMeter()"],
])("options: %s is refused with InvalidOptionsError naming it", (_title, options, option, text) => {
  expect(refusal(manager, options)).toEqual({
    name: "InvalidOptionsError",
    option,
    message: expect.stringContaining(text),
  });
});

test("a Meter passed as the meterProvider is refused, saying to pass its provider", () => {
  const meter = testMetrics.provider.getMeter("app");
  expect(refusal(manager, { meterProvider: meter })).toEqual({
    name: "InvalidOptionsError",
    option: "meterProvider",
    message: expect.stringContaining("is a Meter: pass the MeterProvider it came from"),
  });
});

test("a meterProvider whose getMeter() returns no meter is refused, and nothing stays subscribed", () => {
  const broken = { getMeter: () => undefined };
  expect(refusal(manager, { meterProvider: broken })).toEqual({
    name: "InvalidOptionsError",
    option: "meterProvider",
    message: expect.stringContaining("getMeter() returned no meter"),
  });
  expect(channel(diagnosticsChannels.refreshed).hasSubscribers).toBe(false);
});

test("the errors are InvalidOptionsError instances", () => {
  expect(() => instrumentTokenManager(manager, { meterProvider: {} as never })).toThrow(
    InvalidOptionsError,
  );
});
