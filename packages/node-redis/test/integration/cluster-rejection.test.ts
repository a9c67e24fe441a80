/**
 * Refused credentials on a cluster get the standalone client's answer: one forced refresh, then
 * `connect()` rejects with `CredentialsRejectedError` (not node-redis's
 * `RootNodesUnavailableError`), and no error the cluster emits or rejects with, nor any cause
 * chain, holds a token.
 */
import { inspect } from "node:util";
import { type CredentialSource, CredentialsRejectedError } from "@redis-credentials/core";
import { createClient, createCluster } from "../../src";
import { clusterOptions, collectErrors } from "./cluster-helpers";
import { type Fixture, startFixture } from "./helpers";
import {
  clientOptions,
  managerFor,
  type SwitchableSource,
  switchableSource,
  WRONG_USER,
} from "./load-helpers";

function expectNoToken(value: unknown, tokens: readonly string[], what: string): void {
  const text = inspect(value, { depth: Number.POSITIVE_INFINITY });
  for (const token of tokens) {
    if (text.includes(token)) throw new Error(`${what} shows a token:\n${text.slice(0, 2_000)}`);
  }
}

/** A switchable source that remembers every token it hands out. */
function recordingSource(fixture: Fixture, mode: "ok" | "wrong-user") {
  const tokens: string[] = [];
  const switchable = switchableSource(fixture, mode);
  const source: CredentialSource & { switchable: SwitchableSource } = {
    name: switchable.name,
    switchable,
    async fetch(context) {
      const credentials = await switchable.fetch.call(switchable, context);
      tokens.push(credentials.password);
      return credentials;
    },
  };
  return { source, tokens };
}

let fixture: Fixture;
beforeAll(async () => {
  fixture = await startFixture({ cluster: { masters: 3 } });
}, 60_000);
afterAll(() => fixture.stop());

it("a cluster whose identity Redis refuses: connect() rejects with CredentialsRejectedError after one forced refresh", async () => {
  const { source, tokens } = recordingSource(fixture, "wrong-user");
  const manager = managerFor(source);
  const cluster = createCluster(manager, clusterOptions(fixture.server));
  const errors = collectErrors(cluster);
  try {
    const error = await cluster.connect().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect((error as CredentialsRejectedError).username).toBe(WRONG_USER);
    expect((error as CredentialsRejectedError).source).toBe(source.name);
    expect(((error as Error).cause as Error).message).toMatch(/^WRONGPASS/);
    expect(source.switchable.count("forced")).toBe(1);
    expect(fixture.server.stats().authSuccesses).toBe(0);
    expectNoToken(error, tokens, "connect()'s rejection");
    expectNoToken(errors, tokens, "the cluster's error events");
  } finally {
    await cluster.destroy?.();
    await manager.dispose();
  }
}, 30_000);

it("the same identity on a standalone client: the same error type (for comparison)", async () => {
  const { source, tokens } = recordingSource(fixture, "wrong-user");
  const manager = managerFor(source);
  const client = createClient(manager, clientOptions(fixture));
  const errors = collectErrors(client);
  try {
    const error = await client.connect().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(CredentialsRejectedError);
    expect((error as CredentialsRejectedError).username).toBe(WRONG_USER);
    expectNoToken(error, tokens, "connect()'s rejection");
    expectNoToken(errors, tokens, "the client's error events");
  } finally {
    if (client.isOpen) client.destroy();
    await manager.dispose();
  }
}, 30_000);
