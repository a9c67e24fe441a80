/**
 * `promise`, except that it rejects as soon as `signal` aborts, with the signal's reason. For
 * credential sources over libraries that ignore an abort signal (MSAL-based Azure credentials,
 * the AWS SDK's credential providers): the manager's timeout or dispose then ends the attempt at
 * once, and the library's request finishes unobserved (its outcome is swallowed).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** The signal's reason when it is an Error, else an `AbortError`. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error("The request was aborted.");
  error.name = "AbortError";
  return error;
}
