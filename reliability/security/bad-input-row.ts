/** An error class a row expects: matched by `instanceof` and by its `name`. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * One row of the bad-input table: calling `run` (a public entry point given `input`) must throw,
 * or return a promise that rejects within `withinMs`, an `error` whose message contains `message`.
 */
export interface BadInputRow {
  /** The public entry point, as `package.export` (`core.createTokenManager`). */
  entry: string;
  /** What is wrong with the input. */
  input: string;
  run: () => unknown;
  error: ErrorClass;
  /** A fragment of the message that names what was wrong. */
  message: string | RegExp;
  /** The class of the error's `cause`, where the entry point wraps another error. */
  cause?: ErrorClass;
  /** How long a returned promise may take to reject. @default 5_000 */
  withinMs?: number;
}

/** The secret every row's credentials carry: no error message may show it. */
export const SECRET = "s3cret-token-never-shown";

/** What calling a row's entry point did. */
export type Outcome =
  | { kind: "threw"; error: unknown; ms: number }
  | { kind: "accepted"; value: unknown; ms: number }
  | { kind: "hung"; ms: number };

/** Calls `run`; a returned promise is awaited up to `withinMs` (then: hung). */
export async function outcomeOf(run: () => unknown, withinMs: number): Promise<Outcome> {
  const start = Date.now();
  let value: unknown;
  try {
    value = run();
  } catch (error) {
    return { kind: "threw", error, ms: Date.now() - start };
  }
  if (!isThenable(value)) return { kind: "accepted", value, ms: Date.now() - start };
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), withinMs);
  });
  const settled = Promise.resolve(value).then(
    (result) => ({ kind: "accepted" as const, value: result }),
    (error: unknown) => ({ kind: "threw" as const, error }),
  );
  const first = await Promise.race([settled, hung]);
  clearTimeout(timer);
  if (first === "hung") {
    // A late outcome must not surface as an unhandled rejection or a leaked client.
    void settled.then((late) => {
      if (late.kind === "accepted") void closeQuietly(late.value);
    });
    return { kind: "hung", ms: Date.now() - start };
  }
  return { ...first, ms: Date.now() - start };
}

/** Closes whatever an entry point wrongly accepted (a client, a source, a provider). */
export async function closeQuietly(value: unknown): Promise<void> {
  if (typeof value !== "object" || value === null) return;
  const target = value as Record<string, unknown>;
  for (const method of ["disconnect", "close", "destroy", "dispose", "stop"]) {
    if (typeof target[method] !== "function") continue;
    try {
      await (target[method] as () => unknown).call(value);
    } catch {
      // Already closed, or never connected.
    }
    return;
  }
}

/** What a test compares: the outcome in the terms of the row, so that a failure reads as a diff. */
export function describeOutcome(row: BadInputRow, outcome: Outcome) {
  if (outcome.kind !== "threw") {
    return { outcome: outcome.kind === "hung" ? `hung past ${outcome.ms} ms` : "accepted" };
  }
  const error = outcome.error as { name?: unknown; message?: unknown; cause?: unknown };
  const message = typeof error?.message === "string" ? error.message : String(error);
  const fragment = row.message;
  return {
    outcome: "threw",
    instanceOf: error instanceof row.error ? row.error.name : `not a ${row.error.name}`,
    name: error?.name,
    message: (typeof fragment === "string" ? message.includes(fragment) : fragment.test(message))
      ? "names what was wrong"
      : message,
    showsSecret: message.includes(SECRET),
    ...(row.cause !== undefined && {
      cause: error?.cause instanceof row.cause ? row.cause.name : `not a ${row.cause.name}`,
    }),
  };
}

/** What `describeOutcome` gives for a row that passes. */
export function expectedOutcome(row: BadInputRow) {
  return {
    outcome: "threw",
    instanceOf: row.error.name,
    name: row.error.name,
    message: "names what was wrong",
    showsSecret: false,
    ...(row.cause !== undefined && { cause: row.cause.name }),
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
