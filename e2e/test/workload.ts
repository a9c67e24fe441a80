import { setTimeout as sleep } from "node:timers/promises";
import {
  type CredentialSource,
  createTokenManager,
  type FetchReason,
  type TokenManager,
  type TokenManagerOptions,
} from "@redis-credentials/core";

/** Manager options for tokens that live a few seconds: many rotations in a short test. */
export const FAST_ROTATION: TokenManagerOptions = {
  refreshBeforeExpiryMs: 1_000,
  minRefreshIntervalMs: 200,
  refreshJitterMs: 200,
  reauthSpreadMs: 200,
  retry: { initialDelayMs: 50, maxDelayMs: 500 },
};

/**
 * A fast-rotating manager over `source` that records why each fetch happened (`reasons`), so a
 * test can tell that nothing forced a refresh.
 */
export function recordingManager(
  source: CredentialSource,
): TokenManager & { reasons: FetchReason[] } {
  const reasons: FetchReason[] = [];
  const manager = createTokenManager(
    {
      name: source.name,
      fetch: (context) => {
        reasons.push(context.reason);
        return source.fetch(context);
      },
    },
    FAST_ROTATION,
  );
  return Object.assign(manager, { reasons });
}

/**
 * Runs one command loop per step (each step gets its iteration number), 5 ms apart, until
 * `manager` has brought `rotations` new credentials; returns the commands that succeeded and
 * every failure. The steady workload the end-to-end tests hold across rotations.
 */
export async function workloadAcrossRotations(
  manager: TokenManager,
  rotations: number,
  steps: ((i: number) => Promise<unknown>)[],
): Promise<{ failures: unknown[]; commands: number }> {
  let rotated = 0;
  const onRefreshed = () => {
    rotated += 1;
  };
  manager.on("refreshed", onRefreshed);
  const failures: unknown[] = [];
  let commands = 0;
  let running = true;
  const loop = async (step: (i: number) => Promise<unknown>) => {
    for (let i = 0; running; i++) {
      try {
        await step(i);
        commands += 1;
      } catch (error) {
        failures.push(error);
      }
      await sleep(5);
    }
  };
  const loops = steps.map(loop);
  try {
    while (rotated < rotations) await sleep(100);
  } finally {
    running = false;
    await Promise.all(loops);
    manager.off("refreshed", onRefreshed);
  }
  return { failures, commands };
}
