import { inspect } from "node:util";
import type { CredentialSource } from "@redis-credentials/core";
import type { Fixture } from "./fixture";
import { type SwitchableSource, switchableSource } from "./sources";

/** Everything a log line could show of `value`: `util.inspect` at full depth and its JSON. */
export function printed(value: unknown): string {
  let json = "";
  try {
    json = JSON.stringify(value) ?? "";
  } catch {
    // Circular (a client): inspect covers it.
  }
  return `${inspect(value, { depth: Number.POSITIVE_INFINITY })}\n${json}`;
}

/** Throws, naming `what` and showing the text, when `value` printed holds any of `tokens`. */
export function expectNoToken(value: unknown, tokens: readonly string[], what: string): void {
  const text = printed(value);
  for (const token of tokens) {
    if (text.includes(token)) throw new Error(`${what} shows a token:\n${text.slice(0, 2_000)}`);
  }
}

/** A switchable source that remembers every token it hands out (`tokens`), for secret checks. */
export function recordingSource(
  fixture: Fixture,
  mode: "ok" | "wrong-user",
): { source: CredentialSource & { switchable: SwitchableSource }; tokens: string[] } {
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
