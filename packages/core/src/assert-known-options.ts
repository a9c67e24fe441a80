import { InvalidOptionsError } from "./errors";

/**
 * Throws `InvalidOptionsError` for keys of `options` outside `known`, naming them all, saying
 * what the first one probably meant (`suggestions`: a name people reach for → what to pass
 * instead) and listing the options there are. For credential sources and adapters: a misspelt
 * option silently ignored would leave a default in place that nobody chose.
 */
export function assertKnownOptions(
  options: object,
  known: readonly string[],
  suggestions: Readonly<Record<string, string>> = {},
): void {
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  const first = unknown[0];
  if (first === undefined) return;
  const hint = Object.hasOwn(suggestions, first) ? `: ${suggestions[first]}` : ".";
  throw new InvalidOptionsError(
    unknown.join("/"),
    `unknown option${unknown.length > 1 ? "s" : ""}${hint} The options are ${known.join(", ")}.`,
  );
}
