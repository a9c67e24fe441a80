import { StepTimeoutError } from "./step-errors";

/**
 * Runs `work` with a signal that aborts after `timeoutMs`, and rejects with `StepTimeoutError`
 * then, whether or not `work` honours the signal (each step's sockets close on it): no step
 * hangs the doctor.
 */
export async function withTimeout<T>(
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new StepTimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const running = Promise.resolve().then(() => work(controller.signal));
  // What a step does after its time is up is nobody's business.
  running.catch(() => {});
  try {
    return await Promise.race([running, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
