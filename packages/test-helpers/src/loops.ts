import { sleep } from "./waiting";

/** Loops not stopped yet: a test that failed half way leaves its loops here. */
const runningLoops = new Set<{ stop(): Promise<void> }>();

// A failed test skips its own `stop()`: its loops would go on spinning on closed clients (an
// error per turn, every one kept) for the rest of the jest worker's life, starving the files
// that run after it in that worker. Stop them when the file ends.
afterAll(async () => {
  await Promise.all([...runningLoops].map((loop) => loop.stop()));
});

/**
 * Runs `step` in a loop until `stop()`: counts the calls that resolved and keeps every error, so
 * a test can assert that none failed.
 */
export function runLoop(step: (iteration: number) => Promise<unknown>, pauseMs = 0) {
  const errors: unknown[] = [];
  let succeeded = 0;
  let stopped = false;
  const done = (async () => {
    for (let iteration = 0; !stopped; iteration++) {
      try {
        await step(iteration);
        succeeded++;
      } catch (error) {
        errors.push(error);
      }
      if (pauseMs > 0) await sleep(pauseMs);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const loop = {
    errors,
    get succeeded() {
      return succeeded;
    },
    async stop() {
      stopped = true;
      runningLoops.delete(loop);
      await done;
    },
  };
  runningLoops.add(loop);
  return loop;
}
