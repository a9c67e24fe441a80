import { InvalidOptionsError } from "./errors";

/**
 * Throws `InvalidOptionsError` for keys of `options` outside `known`, naming them all, saying
 * what the first one probably meant (`suggestions`: a name people reach for → what to pass
 * instead; failing that, the known option it is a typo of, `credentail` → `credential`,
 * `clientID` → `clientId`) and listing the options there are. For credential sources and
 * adapters: a misspelt option silently ignored would leave a default in place that nobody chose.
 */
export function assertKnownOptions(
  options: object,
  known: readonly string[],
  suggestions: Readonly<Record<string, string>> = {},
): void {
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  const first = unknown[0];
  if (first === undefined) return;
  const typoOf = nearestOption(first, known);
  const hint = Object.hasOwn(suggestions, first)
    ? `: ${suggestions[first]}`
    : typoOf !== undefined
      ? `: did you mean \`${typoOf}\`?`
      : ".";
  throw new InvalidOptionsError(
    unknown.join("/"),
    `unknown option${unknown.length > 1 ? "s" : ""}${hint} The options are ${known.join(", ")}.`,
  );
}

/**
 * The known option `key` is most likely a typo of: the same but for case, or within two edits
 * (a transposed pair counts as one) and fewer than half of its letters; `undefined` when none is.
 */
export function nearestOption(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor((key.length - 1) / 2));
  for (const candidate of known) {
    if (candidate.toLowerCase() === key.toLowerCase()) return candidate;
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= bestDistance) {
      best = candidate;
      bestDistance = distance - 1;
    }
  }
  return best;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions, transpositions. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Number.POSITIVE_INFINITY;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const up = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        (up[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (up[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, (rows[i - 2]?.[j - 2] as number) + 1);
      }
      row.push(value);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] as number;
}
