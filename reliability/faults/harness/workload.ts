import { types } from "node:util";
import { report } from "@redis-credentials/test-helpers";
import type { FaultClient } from "./fault-clients";

/** A command of the workload that failed (or did not answer within `hangAfterMs`). */
export interface CommandFailure {
  readonly at: number;
  readonly command: "set" | "get";
  readonly error: unknown;
  /** `Name` of the error, then `<- Name` for each `cause` under it: `ReplyError <- CredentialsExpiredError`. */
  readonly type: string;
}

/** A command that had not settled after `hangAfterMs`: counted as failed, and it is a hang. */
export class CommandHangError extends Error {
  override name = "CommandHangError";
}

export interface WorkloadOptions {
  /** Pause between two iterations (a SET of a new key, then a GET of an acknowledged one). @default 20 */
  pauseMs?: number;
  /** A command not settled after this is recorded as a CommandHangError. @default 15_000 */
  hangAfterMs?: number;
}

/** What one client's workload did: the figures of the report line. */
export interface WorkloadReport {
  readonly label: string;
  /** Commands sent (SETs and GETs, the read-back at the end not included). */
  readonly sent: number;
  readonly failed: number;
  /** Failed commands by `CommandFailure.type`. */
  readonly failures: Record<string, number>;
  /** Acknowledged SETs. */
  readonly acknowledged: number;
  /** Acknowledged SETs whose key did not read back with the value written. */
  readonly lost: number;
  /** Acknowledged keys the read-back could not read (the client still failing at the end). */
  readonly unverified: number;
}

export interface Workload {
  readonly client: FaultClient;
  readonly sent: number;
  readonly failures: readonly CommandFailure[];
  /** Failures at or after `since` (epoch ms). */
  failuresSince(since: number): CommandFailure[];
  /**
   * When the first command sent at or after `since` succeeded (its reply's time), undefined if
   * none has yet. A command sent before `since` does not count: it may have been answered by
   * the connection the fault then broke.
   */
  firstSuccessAfter(since: number): number | undefined;
  /** Stops the loop, reads every acknowledged key back, and returns the figures. */
  stop(): Promise<WorkloadReport>;
}

/**
 * Whether `value` is an error: errors made by Node itself (a socket's) come from another realm
 * than jest's test context, where `instanceof Error` is false.
 */
function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/** What an error says it came from: its `cause`, or an ioredis ClusterAllFailedError's `lastNodeError`. */
function causeOf(error: Error): unknown {
  return error.cause ?? (error as { lastNodeError?: unknown }).lastNodeError;
}

/** `Name <- CauseName <- ...` of an error and its causes (ioredis cluster: `lastNodeError`). */
export function errorType(error: unknown): string {
  const names: string[] = [];
  for (let at: unknown = error, depth = 0; at !== undefined && depth < 5; depth++) {
    names.push(isError(at) ? at.name : typeof at);
    at = isError(at) ? causeOf(at) : undefined;
  }
  return names.join(" <- ");
}

/** The error itself or the first of its causes (ioredis cluster: `lastNodeError`) that is a `Type`. */
export function findInCauses<T extends Error>(
  error: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  for (let at: unknown = error, depth = 0; isError(at) && depth < 5; depth++) {
    if (at instanceof type) return at;
    at = causeOf(at);
  }
  return undefined;
}

/**
 * A steady mixed workload on `client`: SET of a unique key (acknowledged ones remembered), then a
 * GET of the latest acknowledged key, `pauseMs` apart, every failure kept with its type.
 */
export function startWorkload(client: FaultClient, options: WorkloadOptions = {}): Workload {
  const pauseMs = options.pauseMs ?? 20;
  const hangAfterMs = options.hangAfterMs ?? 15_000;
  const failures: CommandFailure[] = [];
  const successes: { sentAt: number; at: number }[] = [];
  const acknowledged: string[] = [];
  const prefix = `faults:${client.label}:${client.user.slice(0, 8)}`;
  let sent = 0;
  let stopped = false;

  const run = async (command: "set" | "get", call: () => Promise<unknown>) => {
    sent++;
    const sentAt = Date.now();
    try {
      const result = await settleWithin(call(), hangAfterMs);
      successes.push({ sentAt, at: Date.now() });
      return result;
    } catch (error) {
      failures.push({ at: Date.now(), command, error, type: errorType(error) });
      return undefined;
    }
  };

  const done = (async () => {
    for (let n = 0; !stopped; n++) {
      const key = `${prefix}:${n}`;
      const ok = await run("set", () => client.set(key, String(n)));
      if (ok !== undefined) acknowledged.push(key);
      const latest = acknowledged.at(-1);
      if (latest !== undefined) await run("get", () => client.get(latest));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();

  return {
    client,
    get sent() {
      return sent;
    },
    failures,
    failuresSince: (since) => failures.filter((failure) => failure.at >= since),
    firstSuccessAfter: (since) => successes.find((success) => success.sentAt >= since)?.at,
    async stop() {
      stopped = true;
      await done;
      const { lost, unverified } = await readBack(client, acknowledged, hangAfterMs);
      const byType: Record<string, number> = {};
      for (const { type } of failures) byType[type] = (byType[type] ?? 0) + 1;
      return {
        label: client.label,
        sent,
        failed: failures.length,
        failures: byType,
        acknowledged: acknowledged.length,
        lost,
        unverified,
      };
    },
  };
}

/** Rejects with CommandHangError when `promise` has not settled after `ms` (and swallows its late end). */
async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandHangError(`no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads every acknowledged key back, 50 at a time. A read that fails is retried; once reads have
 * failed for 5 s in a row, the keys left are counted unverified at once (a client that never
 * recovered must not hold the test for minutes).
 */
async function readBack(client: FaultClient, keys: string[], hangAfterMs: number) {
  let lost = 0;
  let unverified = 0;
  let failingSince: number | undefined;
  const givenUp = () => failingSince !== undefined && Date.now() - failingSince > 5_000;
  const readOne = async (key: string) => {
    const expected = key.slice(key.lastIndexOf(":") + 1);
    while (!givenUp()) {
      try {
        const value = await settleWithin(client.get(key), Math.min(hangAfterMs, 5_000));
        failingSince = undefined;
        if (String(value) !== expected) lost++;
        return;
      } catch {
        failingSince ??= Date.now();
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    unverified++;
  };
  for (let start = 0; start < keys.length; start += 50) {
    await Promise.all(keys.slice(start, start + 50).map(readOne));
  }
  return { lost, unverified };
}

/** Prints one line per client (with REDIS_CREDENTIALS_FIGURES=1): the case, then its figures. */
export function reportWorkload(
  caseName: string,
  figures: WorkloadReport,
  extra: Record<string, unknown> = {},
): void {
  const { label, ...rest } = figures;
  report(`${caseName} ${label}`, { ...rest, ...extra });
}
