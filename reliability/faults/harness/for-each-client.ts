import type { FaultClient } from "./fault-clients";

/**
 * Runs `check` for every client concurrently (one case, every adapter at once: the suite's time
 * budget allows no sequential adapters). Waits for all, then fails with one error listing each
 * client whose check failed, by label, with its message (a jest expectation's diff included).
 */
export async function forEachClient<T>(
  clients: readonly FaultClient[],
  check: (client: FaultClient) => Promise<T>,
): Promise<T[]> {
  const results = await Promise.allSettled(clients.map((client) => check(client)));
  const failed = results.flatMap((result, index) =>
    result.status === "rejected" ? [`── ${clients[index]!.label}: ${describe(result.reason)}`] : [],
  );
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${clients.length} clients failed:\n${failed.join("\n")}`);
  }
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Polls every 20 ms until `predicate` holds for every client; rejects after `timeoutMs` naming
 * the clients it does not hold for and `what` was awaited.
 */
export async function untilEveryClient(
  clients: readonly FaultClient[],
  predicate: (client: FaultClient) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waiting = clients.filter((client) => !predicate(client));
    if (waiting.length === 0) return;
    if (Date.now() > deadline) {
      const labels = waiting.map((client) => client.label).join(", ");
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${labels}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
