import {
  createTokenManager,
  InvalidOptionsError,
  staticCredentials,
} from "@redis-credentials/core";
import { createGlideClient, createGlideClusterClient } from "../../src";

// The adapter's options live in GLIDE's configuration: a misspelling of one of them is refused,
// naming it and the option meant (GLIDE would ignore it); GLIDE's own keys are GLIDE's business.

const manager = createTokenManager(staticCredentials({ username: "app", password: "pw" }));
afterAll(() => manager.dispose());
const addresses = [{ host: "127.0.0.1", port: 1 }];

test.each([
  ["createGlideClient", createGlideClient],
  ["createGlideClusterClient", createGlideClusterClient],
] as const)(
  "%s: misspelt adapter options are refused before anything is fetched",
  async (_, create) => {
    const factory = create as (manager: unknown, config: unknown) => Promise<unknown>;
    const onerror = await factory(manager, { addresses, useTLS: true, onerror: () => {} }).catch(
      (e: unknown) => e,
    );
    expect(onerror).toBeInstanceOf(InvalidOptionsError);
    expect((onerror as InvalidOptionsError).option).toBe("config.onerror");
    expect((onerror as Error).message).toBe(
      "Invalid option `config.onerror`: unknown option: did you mean `onError`? GLIDE would ignore it. The adapter's options are allowInsecureTransport, onError.",
    );
    const insecure = await factory(manager, { addresses, allowInsecure: true }).catch(
      (e: unknown) => e,
    );
    expect(insecure).toBeInstanceOf(InvalidOptionsError);
    expect((insecure as Error).message).toContain("did you mean `allowInsecureTransport`?");
  },
);
