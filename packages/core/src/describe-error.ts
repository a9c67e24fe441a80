import { inspect } from "node:util";

/**
 * A name and message for anything a source, listener or event handler can throw, for error
 * messages and diagnostics. Never throws: a thrown value may be a null-prototype object, a symbol,
 * an object whose `toString` throws, or a revoked proxy, and the manager must handle those like
 * any other failure, so every step that can run user code or trap is guarded.
 */
export function describeError(error: unknown): { name: string; message: string } {
  if (isError(error)) {
    return {
      name: readString(error, "name") ?? "Error",
      message: readString(error, "message") ?? "",
    };
  }
  return { name: typeof error, message: `a non-Error value: ${describeValue(error)}` };
}

/** `error instanceof Error`, except that a revoked proxy (whose prototype lookup throws) is not one. */
export function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** `value instanceof type`, `false` where the lookup throws. */
export function isInstance<T>(
  value: unknown,
  type: abstract new (...args: never[]) => T,
): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

function readString(error: Error, key: "name" | "message"): string | undefined {
  try {
    const value: unknown = error[key];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `{ code: 500 }` rather than `[object Object]`, short, and without running the value's own code. */
function describeValue(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value !== "object" && typeof value !== "function") return String(value);
  try {
    return inspect(value, {
      depth: 1,
      breakLength: Number.POSITIVE_INFINITY,
      maxStringLength: 100,
      maxArrayLength: 10,
      customInspect: false,
      getters: false,
    });
  } catch {
    return "an object that cannot be described";
  }
}
