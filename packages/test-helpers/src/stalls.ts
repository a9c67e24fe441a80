import { monitorEventLoopDelay } from "node:perf_hooks";

/*
 * Tokens live 3 s and are renewed 1 s before they expire: a test process whose event loop stalls
 * for about a second (a machine loaded far beyond its cores) misses the deadline whatever the
 * adapter does. The clients and the token-enforcing proxies share this process, so its longest
 * stall is told along with a failure, to tell such a run from an adapter bug.
 */
const eventLoopDelay = monitorEventLoopDelay({ resolution: 20 });
eventLoopDelay.enable();

/** The longest event-loop stall of this test process so far, in ms. */
export function longestStallMs(): number {
  return Math.round(eventLoopDelay.max / 1e6);
}

/** Runs `assertion`, adding the process's longest event-loop stall to its failure message. */
export function withStallNote(assertion: () => void): void {
  try {
    assertion();
  } catch (error) {
    if (error instanceof Error) {
      error.message += `\n(longest event-loop stall of this test process: ${longestStallMs()} ms)`;
    }
    throw error;
  }
}
