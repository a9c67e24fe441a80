import { randomBytes } from "node:crypto";
import type { SlotRange } from "./key-slot";
import { roundTripKey } from "./key-slot";
import type { StepResult } from "./network-steps";
import type { RedisConnection } from "./redis-connection";
import { type RespValue, replyText } from "./resp";
import { ReplyError, StepFailure } from "./step-errors";

/** How long the round trip's key lives, should its DEL not run. */
const KEY_EXPIRY_MS = 30_000;

/** Sends a command; an error reply throws `ReplyError`. */
async function call(connection: RedisConnection, args: readonly string[], signal: AbortSignal) {
  const reply = await connection.command(args, signal);
  if (reply.type === "error") throw new ReplyError(reply.value);
  return reply;
}

/** The auth step: AUTH with the user name and the token (or password). */
export async function authenticate(
  connection: RedisConnection,
  credentials: { username: string; password: string },
  signal: AbortSignal,
): Promise<StepResult<undefined>> {
  const reply = await call(
    connection,
    ["AUTH", credentials.username, credentials.password],
    signal,
  );
  return { detail: `AUTH as ${credentials.username}: ${replyText(reply)}`, value: undefined };
}

/**
 * The whoami step: the user Redis says the connection is authenticated as, which must be the one
 * AUTH named (`anyUser`: Memorystore, whose AUTH user is always `default`).
 */
export async function whoami(
  connection: RedisConnection,
  expected: string,
  anyUser: boolean,
  signal: AbortSignal,
): Promise<StepResult<string>> {
  const user = replyText(await call(connection, ["ACL", "WHOAMI"], signal));
  if (user !== expected && !anyUser) {
    throw new StepFailure(
      `ACL WHOAMI says ${user}, but AUTH named ${expected}`,
      "The connection is not authenticated as the identity you meant: a proxy in front of Redis maps users, or the AUTH was not applied. Check what sits between this machine and the server.",
    );
  }
  const named = user === expected ? "" : ` (AUTH named ${expected})`;
  return { detail: `authenticated as ${user}${named}`, value: user };
}

/**
 * The round trip: PING, then SET (with a short expiry), GET and DEL of a random key. With
 * `slots`, the key is put in one of them (a cluster node serves its own slots only); an empty
 * list (a replica, a discovery endpoint) leaves only the PING.
 */
export async function roundTrip(
  connection: RedisConnection,
  signal: AbortSignal,
  slots?: readonly SlotRange[],
): Promise<StepResult<undefined>> {
  const pong = replyText(await call(connection, ["PING"], signal));
  if (slots !== undefined && slots.length === 0) {
    return { detail: `PING: ${pong}; no slots of its own, so no write here`, value: undefined };
  }
  const key = roundTripKey(slots);
  const value = randomBytes(12).toString("hex");
  await call(connection, ["SET", key, value, "PX", String(KEY_EXPIRY_MS)], signal);
  const read = await call(connection, ["GET", key], signal);
  const deleted = await call(connection, ["DEL", key], signal);
  if (read.type !== "bulk" || read.value !== value) {
    throw new StepFailure(
      `SET then GET of ${key} read back ${describe(read)} instead of the value written`,
      "The server does not keep what it is sent: another client deleting keys, or a proxy that answers from elsewhere (a read replica behind a load balancer). Connect to the primary endpoint.",
    );
  }
  return {
    detail: `PING: ${pong}; SET, GET and DEL of ${key} (${KEY_EXPIRY_MS / 1000} s expiry): the value read back matches, ${replyText(deleted)} key deleted`,
    value: undefined,
  };
}

function describe(reply: RespValue): string {
  return reply.type === "null" ? "nothing" : "another value";
}
