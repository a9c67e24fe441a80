import { setTimeout as sleep } from "node:timers/promises";
import type { TokenManager } from "@redis-credentials/core";

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
