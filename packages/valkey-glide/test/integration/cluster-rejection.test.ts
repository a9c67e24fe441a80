/**
 * Refused credentials on a GLIDE cluster client get the standalone client's answer (one forced
 * refresh, then `CredentialsRejectedError`), and no error the adapter rejects with or hands to
 * `onError`, cause chains included, holds a token.
 */
import { inspect } from "node:util";
import {
  type CredentialSource,
  CredentialsRejectedError,
  credentialsFromJwt,
  type FetchReason,
} from "@redis-credentials/core";
import { managerFor, waitFor } from "@redis-credentials/test-helpers";
import {
  createTokenIssuer,
  startTokenRedis,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";
import { createGlideClient, createGlideClusterClient } from "../../src";
import { tlsConfig } from "./helpers";

const issuer = createTokenIssuer();
/** Signs valid-looking tokens the servers do not trust. */
const stranger = createTokenIssuer();
let standalone: TokenRedis;
let cluster: TokenRedis;
beforeAll(async () => {
  [standalone, cluster] = await Promise.all([
    startTokenRedis({ identity: issuer }),
    startTokenRedis({ identity: issuer, cluster: { masters: 3 } }),
  ]);
}, 60_000);
afterAll(() => Promise.all([standalone?.stop(), cluster?.stop()]));

let users = 0;
/** A source whose issuer a test switches, remembering every token it hands out. */
function recordingSource(lifetimeMs: number) {
  const objectId = `00000000-0000-4000-8000-3${String(++users).padStart(11, "0")}`;
  const source: CredentialSource & {
    issuer: TokenIssuer;
    fetches: FetchReason[];
    tokens: string[];
  } = {
    name: `recording-${users}`,
    issuer,
    fetches: [],
    tokens: [],
    async fetch({ reason }: { reason: FetchReason }) {
      this.fetches.push(reason);
      const token = this.issuer.issueToken({ objectId, lifetimeMs });
      this.tokens.push(token);
      return credentialsFromJwt(token, { username: objectId });
    },
  };
  return { source, objectId };
}

function expectNoToken(value: unknown, tokens: readonly string[], what: string): void {
  const text = inspect(value, { depth: Number.POSITIVE_INFINITY });
  expect(tokens.length).toBeGreaterThan(0);
  for (const token of tokens) {
    if (text.includes(token)) throw new Error(`${what} shows a token:\n${text.slice(0, 2_000)}`);
  }
}

test("a cluster client whose credentials the servers refuse: one forced refresh, then CredentialsRejectedError without a token", async () => {
  // Long-lived tokens: every fetch is the adapter's doing.
  const { source, objectId } = recordingSource(60_000);
  source.issuer = stranger;
  const manager = managerFor(source);
  try {
    const outcome = await createGlideClusterClient(manager, tlsConfig(cluster)).catch(
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(CredentialsRejectedError);
    expect((outcome as CredentialsRejectedError).username).toBe(objectId);
    expect((outcome as Error).cause).toBeDefined();
    expect(source.fetches).toEqual(["initial", "forced"]);
    expectNoToken(outcome, source.tokens, "the rejection");
  } finally {
    await manager.dispose();
  }
}, 30_000);

test("a refused re-AUTH on a live client: the error handed to onError holds no token", async () => {
  const { source } = recordingSource(3_000);
  const manager = managerFor(source);
  const errors: Error[] = [];
  const client = await createGlideClient(manager, {
    ...tlsConfig(standalone),
    onError: (error) => errors.push(error),
  });
  try {
    source.issuer = stranger;
    await waitFor(
      () => errors.some((error) => error instanceof CredentialsRejectedError),
      "CredentialsRejectedError",
      15_000,
    );
    expectNoToken(errors, source.tokens, "the errors handed to onError");
  } finally {
    client.close();
    await manager.dispose();
  }
}, 30_000);
