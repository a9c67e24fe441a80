import {
  type CredentialSource,
  CredentialsRejectedError,
  credentialsFromJwt,
  type FetchReason,
} from "@redis-credentials/core";
import { managerFor, rotations, sleep, waitFor } from "@redis-credentials/test-helpers";
import {
  createTokenIssuer,
  startTokenRedis,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import { bindingOf, createGlideClient, UsernameChangedError } from "../../src";
import { tlsConfig } from "./helpers";

/*
 * Credentials the server refuses, a source that changes the user name, and what close() ends.
 */

const issuer = createTokenIssuer();
/** Signs valid-looking tokens the server does not trust. */
const stranger = createTokenIssuer();
let server: TokenRedis;
beforeAll(async () => {
  server = await startTokenRedis({ identity: issuer });
}, 60_000);
afterAll(() => server?.stop());

let users = 0;
/** A source whose issuer and user a test switches while the client runs. */
function switchable(lifetimeMs = 3_000) {
  const objectId = `00000000-0000-4000-8000-2${String(++users).padStart(11, "0")}`;
  const fetches: FetchReason[] = [];
  const source: CredentialSource & {
    issuer: TokenIssuer;
    objectId: string;
    fetches: FetchReason[];
  } = {
    name: `switchable-${users}`,
    issuer,
    objectId,
    fetches,
    async fetch({ reason }: { reason: FetchReason }) {
      fetches.push(reason);
      const token = this.issuer.issueToken({ objectId: this.objectId, lifetimeMs });
      return credentialsFromJwt(token, { username: this.objectId });
    },
  };
  return source;
}

test("a first credential the server refuses: one forced refresh, then createGlideClient rejects with CredentialsRejectedError", async () => {
  // Long-lived: no scheduled refresh within the test, so every fetch is the adapter's doing.
  const source = switchable(60_000);
  source.issuer = stranger;
  const manager = managerFor(source);
  try {
    const outcome = await createGlideClient(manager, tlsConfig(server)).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(CredentialsRejectedError);
    expect((outcome as CredentialsRejectedError).username).toBe(source.objectId);
    expect(source.fetches).toEqual(["initial", "forced"]);
    expect(String((outcome as Error).message)).not.toMatch(/eyJ/);
  } finally {
    await manager.dispose();
  }
});

test("a later credential the server refuses: exactly one forced refresh and one CredentialsRejectedError (onError and subscriberError)", async () => {
  const source = switchable();
  const manager = managerFor(source);
  const errors: Error[] = [];
  const subscriberErrors: unknown[] = [];
  manager.on("subscriberError", (error) => subscriberErrors.push(error));
  const client = await createGlideClient(manager, {
    ...tlsConfig(server),
    onError: (e) => errors.push(e),
  });
  try {
    source.issuer = stranger;
    await waitFor(() => errors.length > 0, "the typed error", 10_000);
    await sleep(1_000);
    expect(errors.map((e) => e.name)).toEqual(["CredentialsRejectedError"]);
    expect(subscriberErrors).toEqual([errors[0]]);
    expect(source.fetches.filter((r) => r === "forced")).toHaveLength(1);
    // Refused: the update, the forced refresh's, and retries backing off (reported once).
    expect(bindingOf(client)!.status().reauthFailures).toBeGreaterThanOrEqual(2);
  } finally {
    client.close();
    await manager.dispose();
  }
}, 30_000);

test("a source that changes the user name: UsernameChangedError on onError and subscriberError, no password update, never a token", async () => {
  const source = switchable();
  const manager = managerFor(source);
  const errors: Error[] = [];
  const subscriberErrors: unknown[] = [];
  manager.on("subscriberError", (error) => subscriberErrors.push(error));
  const client = await createGlideClient(manager, {
    ...tlsConfig(server),
    onError: (e) => errors.push(e),
  });
  const original = source.objectId;
  try {
    const attempts = () =>
      server.connections().find((c) => c.user === original)?.authAttempts ?? -1;
    const before = attempts();
    source.objectId = "00000000-0000-4000-8000-00000000beef";
    await rotations(manager, 1);
    await sleep(400);
    expect(errors).toHaveLength(1);
    const error = errors[0] as UsernameChangedError;
    expect(error).toBeInstanceOf(UsernameChangedError);
    expect(error).toMatchObject({ previousUsername: original, username: source.objectId });
    expect(subscriberErrors).toEqual([error]);
    expect(error.message).not.toMatch(/eyJ/);
    expect(attempts()).toBe(before);
  } finally {
    client.close();
    await manager.dispose();
  }
}, 30_000);

test("close() ends the binding: the manager has no subscriber left, status() counts no connection", async () => {
  const source = switchable();
  const manager = managerFor(source);
  const client = await createGlideClient(manager, tlsConfig(server));
  const binding = bindingOf(client)!;
  expect(binding.status()).toMatchObject({ connections: 1 });
  expect(manager.status().counters.subscribers).toBe(1);
  client.close();
  expect(manager.status().counters.subscribers).toBe(0);
  expect(binding.status().connections).toBe(0);
  await manager.dispose();
});

test("dispose() of the binding stops password updates; the client keeps working until its token expires", async () => {
  const source = switchable();
  const manager = managerFor(source);
  const client = await createGlideClient(manager, tlsConfig(server));
  try {
    bindingOf(client)!.dispose();
    expect(manager.status().counters.subscribers).toBe(0);
    expect(await client.ping()).toBe("PONG");
  } finally {
    client.close();
    await manager.dispose();
  }
});
