import { CredentialsRejectedError } from "@redis-credentials/core";
import { expectNoToken, recordingSource } from "@redis-credentials/test-helpers";
import { createClient, createCluster } from "../../src";
import { clusterOptions, collectErrors } from "./cluster-helpers";
import { type Fixture, startFixture } from "./helpers";
import { clientOptions, managerFor, WRONG_USER } from "./load-helpers";

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
