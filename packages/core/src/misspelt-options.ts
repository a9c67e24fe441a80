import { InvalidOptionsError } from "./errors";

/**
 * In options shared with the client library, refuses a key that looks like a misspelling of one
 * of the adapter's own (`allowInsecureTransports`, `allowinsecuretransport`, `insecure`): the
 * client would ignore it without a word, leaving the adapter's default in place. Every other key
 * is the client library's business and passes.
 */
export function assertNoMisspeltOptions(
  options: object,
  own: readonly string[],
  name: string,
  clientName: string,
): void {
  for (const key of Object.keys(options)) {
    if (own.includes(key)) continue;
    const meant = own.find((ownKey) => looksLike(key, ownKey));
    if (meant === undefined) continue;
    throw new InvalidOptionsError(
      `${name}.${key}`,
      `unknown option: did you mean \`${meant}\`? ${clientName} would ignore it. The adapter's options are ${own.join(", ")}.`,
    );
  }
}

/**
 * For `assertKnownOptions` on an object holding only the adapter's options: "did you mean …?"
 * for each key of `options` that looks like one of `own`.
 */
export function likelyMeant(options: object, own: readonly string[]): Record<string, string> {
  const hints: Record<string, string> = {};
  for (const key of Object.keys(options)) {
    const meant = own.includes(key) ? undefined : own.find((ownKey) => looksLike(key, ownKey));
    if (meant !== undefined) hints[key] = `did you mean \`${meant}\`?`;
  }
  return hints;
}

function looksLike(key: string, ownKey: string): boolean {
  const a = normalize(key);
  const b = normalize(ownKey);
  if (a === b || editDistance(a, b) <= 2) return true;
  // `allowInsecure`, `insecureTransport`, `allowInsecureTls`: the words of the name.
  return b.startsWith("allowinsecure") && a.length >= 8 && /insecure/.test(a);
}

const normalize = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, "");

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
