import { readFileSync } from "node:fs";
import path from "node:path";
import { createTokenManager } from "../../src";
import { bindToyClient } from "../docs/toy-adapter";
import { ToyClient } from "../docs/toy-client";
import { FakeClock } from "../fake-clock";
import { SECOND } from "../sources";

const docs = readFileSync(path.resolve(__dirname, "../../../../docs/core.md"), "utf8");

test("docs/core.md shows the example adapter exactly as it runs here", () => {
  const example = readFileSync(path.resolve(__dirname, "../docs/toy-adapter.ts"), "utf8")
    .replace('from "../../src"', 'from "@redis-credentials/core"')
    .replace('from "./toy-client"', 'from "toy-client"');
  expect(docs).toContain(`\`\`\`ts\n${example}\`\`\``);
  expect(example.trim().split("\n").length).toBeLessThanOrEqual(30);
});

/** A manager whose tokens live 10 s, and a server that accepts only unexpired ones it issued. */
function setup() {
  const clock = new FakeClock();
  const issued = new Map<string, number>();
  let n = 0;
  const manager = createTokenManager(
    {
      name: "toy-idp",
      fetch: async () => {
        const password = `token-${++n}`;
        issued.set(password, clock.now() + 10 * SECOND);
        return { username: "app", password, expiresAt: issued.get(password)! };
      },
    },
    { clock, reauthSpreadMs: 1_000, refreshBeforeExpiryMs: 2 * SECOND },
  );
  const valid = (password: string) => (issued.get(password) ?? 0) > clock.now();
  return { clock, manager, valid, issued };
}

test("the example adapter keeps its client authenticated across rotations and reconnects", async () => {
  const { clock, manager, valid } = setup();
  const client = new ToyClient(valid);
  const binding = bindToyClient(client, manager);
  await client.connect();
  expect(client.onServer).toBe("token-1");

  // Six rotations: each reaches the live connection as one AUTH, before the old token expires.
  for (let second = 0; second < 60; second++) {
    await clock.advance(SECOND);
    expect(valid(client.onServer!)).toBe(true);
  }
  const rotations = manager.status().counters.refreshes - 1;
  expect(rotations).toBeGreaterThanOrEqual(6);
  expect(client.auths).toHaveLength(rotations);

  // A reconnect presents the current token.
  await client.reconnect();
  expect(client.onServer).toBe(manager.peekCredentials()?.password);
  expect(binding.status()).toMatchObject({ connections: 1, reauthFailures: 0 });

  client.close();
  expect(binding.status().connections).toBe(0);
  expect(manager.status().counters.subscribers).toBe(0);
  await manager.dispose();
});

test("a refused handshake: the example adapter's next handshake presents freshly fetched credentials", async () => {
  const { clock, manager, valid, issued } = setup();
  await manager.getCredentials();
  issued.delete("token-1"); // the server no longer accepts the token the manager holds
  const client = new ToyClient(valid);
  const binding = bindToyClient(client, manager);
  await client.connect();
  await clock.advance(0);
  expect(client.ready).toBe(true);
  expect(client.onServer).toBe("token-2");
  expect(binding.status().reauthFailures).toBe(1);
  await manager.dispose();
});
