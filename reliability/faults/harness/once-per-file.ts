/**
 * Starts something once for the test file (beforeAll) and stops it after (afterAll); returns a
 * getter for the tests, which throws when the start failed.
 */
export function oncePerFile<T extends { stop(): Promise<void> }>(
  start: () => Promise<T>,
  what: string,
  startTimeoutMs: number,
): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, startTimeoutMs);
  afterAll(async () => {
    await started?.stop();
  }, 30_000);
  return () => {
    if (started === undefined) throw new Error(`${what} did not start`);
    return started;
  };
}
