import {
  createTokenManager,
  InsecureTransportError,
  InvalidOptionsError,
  ManagerDisposedError,
  staticCredentials,
  type TokenManager,
} from "@redis-credentials/core";
import { bindingOf, createGlideClient, createGlideClusterClient } from "../../src";

// Refused before anything is fetched or connected: no server needed.

const addresses = [{ host: "127.0.0.1", port: 1 }];
let manager: TokenManager;
beforeEach(() => {
  manager = createTokenManager(staticCredentials({ username: "app", password: "secret-token" }));
});
afterEach(() => manager.dispose());

test.each([
  ["createGlideClient", createGlideClient],
  ["createGlideClusterClient", createGlideClusterClient],
] as const)(
  "%s refuses credentials, plaintext without allowInsecureTransport, and a bad manager",
  async (_, create) => {
    const factory = create as (manager: unknown, config: unknown) => Promise<unknown>;
    await expect(
      factory(manager, { addresses, useTLS: true, credentials: { password: "x" } }),
    ).rejects.toThrow(InvalidOptionsError);
    await expect(factory(manager, { addresses })).rejects.toThrow(InsecureTransportError);
    await expect(factory(manager, { addresses, useTLS: false })).rejects.toThrow(
      InsecureTransportError,
    );
    await expect(factory({}, { addresses, useTLS: true })).rejects.toThrow(InvalidOptionsError);
    await expect(factory(manager, { addresses: [], useTLS: true })).rejects.toThrow(
      InvalidOptionsError,
    );
    await expect(factory(manager, { addresses, useTLS: true, onError: 1 })).rejects.toThrow(
      InvalidOptionsError,
    );
    expect(manager.status().counters.fetches).toBe(0);
    await manager.dispose();
    await expect(factory(manager, { addresses, useTLS: true })).rejects.toThrow(
      ManagerDisposedError,
    );
  },
);

test("the messages name the option and never hold a token", async () => {
  const error = (await createGlideClient(manager, { addresses }).catch((e: unknown) => e)) as Error;
  expect(error.message).toContain("127.0.0.1:1");
  expect(error.message).not.toContain("secret-token");
  expect(bindingOf({})).toBeUndefined();
});
