import {
  createTokenManager,
  InvalidOptionsError,
  staticCredentials,
} from "@redis-credentials/core";
import { Redis } from "ioredis";
import { bindCredentials, bindingOf, createCluster, createRedis } from "../../src";

// Option values of the wrong type: refused with InvalidOptionsError naming the option, before
// any credentials are fetched or any client is built. No client connects (port 1, lazy).

const manager = createTokenManager(staticCredentials({ username: "app", password: "pw" }));
afterAll(() => manager.dispose());

test.each([
  ["a string", "yes"],
  ["a number", 1],
  ["null", null],
])("allowInsecureTransport %s is refused by every entry point", async (_title, value) => {
  const expected = {
    name: "InvalidOptionsError",
    option: "options.allowInsecureTransport",
    message: expect.stringMatching(/must be true or false/),
  };
  await expect(
    createRedis(manager, {
      port: 1,
      lazyConnect: true,
      tls: {},
      allowInsecureTransport: value as never,
    }),
  ).rejects.toMatchObject(expected);
  await expect(
    createCluster(manager, [{ port: 1 }], {
      lazyConnect: true,
      allowInsecureTransport: value as never,
    }),
  ).rejects.toMatchObject(expected);
  const client = new Redis({ port: 1, lazyConnect: true, tls: {} });
  expect(() =>
    bindCredentials(client, manager, { allowInsecureTransport: value as never }),
  ).toThrow(expect.objectContaining(expected));
  expect(bindingOf(client)).toBeUndefined();
  client.disconnect();
});

test("allowInsecureTransport true and false still work", async () => {
  const insecure = await createRedis(manager, {
    port: 1,
    lazyConnect: true,
    allowInsecureTransport: true,
  });
  const secure = await createRedis(manager, {
    port: 1,
    lazyConnect: true,
    tls: {},
    allowInsecureTransport: false,
  });
  expect(bindingOf(insecure)).toBeDefined();
  expect(bindingOf(secure)).toBeDefined();
  insecure.disconnect();
  secure.disconnect();
});

test.each([
  ["a string", "127.0.0.1:7000", /wrap a single node in an array/],
  ["an empty array", [], /non-empty array/],
  ["an object", { host: "127.0.0.1", port: 7000 }, /non-empty array/],
  ["an array holding null", [null], /non-empty array/],
])("createCluster: startupNodes %s is refused", async (_title, startupNodes, message) => {
  const error = await createCluster(manager, startupNodes as never, {
    lazyConnect: true,
    allowInsecureTransport: true,
  }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(InvalidOptionsError);
  expect((error as InvalidOptionsError).option).toBe("startupNodes");
  expect((error as Error).message).toMatch(message);
});
