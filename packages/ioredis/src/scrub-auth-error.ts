const REDACTED = "[redacted]";

/** Scrubbed error → the password it held, so the binding can tell which credentials Redis refused. */
const refusedPasswords = new WeakMap<object, string>();

/** The password a reply error scrubbed by {@link scrubAuthError} held (kept in memory only). */
export function refusedPassword(error: unknown): string | undefined {
  return typeof error === "object" && error !== null ? refusedPasswords.get(error) : undefined;
}

interface CommandInfo {
  name?: unknown;
  args?: unknown;
}

/**
 * ioredis gives every reply error a `command: { name, args }`; for a refused AUTH or HELLO …
 * AUTH, `args` hold the user name and the token. Replaces the token there with "[redacted]"
 * (the user name stays: it is no secret and says who was refused), in place, because the same
 * error object also rejects the queued commands and reaches every `error` listener; a frozen
 * error is replaced by a scrubbed copy of the same class. Returns the error to hand on.
 */
export function scrubAuthError<E>(error: E): E {
  if (typeof error !== "object" || error === null) return error;
  const command = (error as { command?: CommandInfo }).command;
  const scrubbing = scrubbedArgs(command);
  if (scrubbing === undefined) return error;
  const scrubbed = { ...command, args: scrubbing.args };
  try {
    (error as { command?: CommandInfo }).command = scrubbed;
    if ((error as { command?: CommandInfo }).command === scrubbed) {
      refusedPasswords.set(error, scrubbing.password);
      return error;
    }
  } catch {
    // A frozen error or a read-only `command`: copy it below.
  }
  const copy = Object.create(Object.getPrototypeOf(error)) as Record<string, unknown>;
  for (const key of Reflect.ownKeys(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key)!;
    Object.defineProperty(
      copy,
      key,
      key === "command" ? { ...descriptor, value: scrubbed } : descriptor,
    );
  }
  if (!Object.hasOwn(copy, "command")) copy.command = scrubbed;
  refusedPasswords.set(copy, scrubbing.password);
  return copy as E;
}

/** `command.args` without the token, and the token; undefined when they hold none (or no more). */
function scrubbedArgs(
  command: CommandInfo | undefined,
): { args: unknown[]; password: string } | undefined {
  if (typeof command !== "object" || command === null || !Array.isArray(command.args)) {
    return undefined;
  }
  const name = String(command.name ?? "").toLowerCase();
  const args = command.args.map((arg) => (Buffer.isBuffer(arg) ? arg.toString() : arg));
  // AUTH [user] password; HELLO protover AUTH user password [SETNAME name].
  const helloAuth = args.findIndex((arg) => String(arg).toUpperCase() === "AUTH");
  const secretAt =
    name === "auth" ? args.length - 1 : name === "hello" && helloAuth >= 0 ? helloAuth + 2 : -1;
  if (secretAt < 0 || secretAt >= args.length || args[secretAt] === REDACTED) return undefined;
  return {
    args: args.map((arg, index) => (index === secretAt ? REDACTED : arg)),
    password: String(args[secretAt]),
  };
}

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Scrubs every error `emitter` emits before any listener (or anything watching `emit`) sees it:
 * ioredis emits a refused handshake's reply error, token included, from its AUTH callback.
 * `onRefused` learns the password of each refused AUTH. Returns a function that undoes it.
 */
export function scrubEmittedErrors(
  emitter: { emit: Emit },
  onRefused: (password: string) => void,
): () => void {
  const target = emitter as { emit: Emit };
  const emit = target.emit;
  const own = Object.hasOwn(target, "emit");
  const scrubbingEmit: Emit = function emitScrubbed(this: unknown, event, ...args) {
    if (event === "error" && args.length > 0) {
      args[0] = scrubAuthError(args[0]);
      const password = refusedPassword(args[0]);
      if (password !== undefined) onRefused(password);
    }
    return emit.call(this, event, ...args);
  };
  target.emit = scrubbingEmit;
  return () => {
    if (target.emit !== scrubbingEmit) return;
    if (own) target.emit = emit;
    else delete (target as Partial<typeof target>).emit;
  };
}
