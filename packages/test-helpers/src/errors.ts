import { withStallNote } from "./stalls";

/**
 * Every error the emitter emits on `events`, in order. Listening to `error` also keeps ioredis and
 * node-redis from throwing on an unhandled one.
 */
export function collectErrors(
  emitter: { on(event: string, listener: (...args: any[]) => void): unknown },
  events: string[] = ["error"],
): Error[] {
  const errors: Error[] = [];
  for (const event of events) emitter.on(event, (error: Error) => errors.push(error));
  return errors;
}

/** Compact description of errors for assertion messages (never a token: errors carry none). */
export function describeErrors(errors: unknown[]): string[] {
  return errors.map((error) =>
    error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error),
  );
}

/** Expects no error (their messages are shown otherwise, with the longest stall). */
export function expectNoErrors(errors: unknown[]): void {
  withStallNote(() => expect(describeErrors(errors)).toEqual([]));
}

/** Every event the emitter has listeners for, with how many. */
export function listenerCounts(emitter: {
  eventNames(): (string | symbol)[];
  listenerCount(event: string | symbol): number;
}): Record<string, number> {
  return Object.fromEntries(
    emitter.eventNames().map((name) => [String(name), emitter.listenerCount(name)]),
  );
}
