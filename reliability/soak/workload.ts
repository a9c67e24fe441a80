import type { Ledger } from "./ledger";

/** One loop of the workload: `step` runs again `pauseMs` after the previous one settled. */
export interface Workload {
  fleet: string;
  kind: string;
  pauseMs: number;
  step(iteration: number): Promise<unknown>;
}

/** After a failed step, its loop waits at least this long: a client failing fast must not spin. */
const PAUSE_AFTER_FAILURE_MS = 200;

/** A step that has not settled after this long counts as failed (a hung command). */
export const STEP_TIMEOUT_MS = 10_000;

export class StepTimeoutError extends Error {
  override name = "StepTimeoutError";
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Races one step against its own timer, cleared as soon as the step settles: each step gets a
 * fresh pair of promises, so nothing accumulates a reaction per step (an earlier soak raced every
 * pause against one long-lived promise and leaked that way).
 */
async function withTimeout(step: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StepTimeoutError(`no reply within ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([step, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every workload until `stop()`, counting each step in `ledger`. */
export function runWorkloads(workloads: Workload[], ledger: Ledger): { stop(): Promise<void> } {
  let running = true;
  const loop = async (workload: Workload) => {
    for (let iteration = 0; running; iteration++) {
      const start = Date.now();
      let pauseMs = workload.pauseMs;
      try {
        await withTimeout(workload.step(iteration));
        ledger.ok(workload.fleet, workload.kind);
      } catch (error) {
        ledger.fail(workload.fleet, workload.kind, start, error);
        pauseMs = Math.max(pauseMs, PAUSE_AFTER_FAILURE_MS);
      }
      await sleep(pauseMs);
    }
  };
  const loops = workloads.map(loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Throws when a reply is not the one expected (a lost write, a mixed-up reply). */
export function expectReply(what: string, actual: unknown, expected: unknown): void {
  if (String(actual) !== String(expected)) {
    throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
  }
}
