import type { RefreshedEvent, TokenManager } from "@redis-credentials/core";
import { fastRotation } from "./fixture";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long after a rotation its staggered AUTHs (or reconnects) have all landed. */
export const SETTLE_MS = (fastRotation.reauthSpreadMs ?? 0) + 300;

/** Resolves after `manager` has handed out `count` new credentials (the first included). */
export function rotations(manager: TokenManager, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onRefreshed = () => {
      if (++seen < count) return;
      manager.off("refreshed", onRefreshed);
      resolve();
    };
    manager.on("refreshed", onRefreshed);
  });
}

/** Resolves after `count` rotations, plus the time for their staggered AUTHs to land. */
export async function afterRotations(manager: TokenManager, count: number): Promise<void> {
  await rotations(manager, count);
  await sleep((fastRotation.reauthSpreadMs ?? 0) + 300);
}

/**
 * Waits for the next rotation of `manager` and for its staggered AUTHs to land: a quiet moment,
 * about a rotation's length before the next one, to snapshot the server's counters.
 */
export async function quietAfterRotation(manager: TokenManager): Promise<void> {
  await rotations(manager, 1);
  await sleep(SETTLE_MS);
}

/** Resolves with the next `refreshed` event of `manager`. */
export function nextRefresh(manager: TokenManager): Promise<RefreshedEvent> {
  return new Promise((resolve) => {
    const onRefreshed = (event: RefreshedEvent) => {
      manager.off("refreshed", onRefreshed);
      resolve(event);
    };
    manager.on("refreshed", onRefreshed);
  });
}

/**
 * Resolves once the manager's next fan-out of new credentials reaches a subscriber added now. The
 * manager hands them to its subscribers in the order they subscribed (each at a random point of
 * its own slice of reauthSpreadMs), so every connection subscribed earlier has had them by then.
 */
export function nextDelivery(manager: TokenManager): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe = manager.subscribe(() => {
      unsubscribe();
      resolve();
    });
  });
}

/** Counts the manager's rotations from now on (`stop()` ends counting). */
export function countRotations(manager: TokenManager) {
  const at: number[] = [];
  const onRefreshed = () => at.push(Date.now());
  manager.on("refreshed", onRefreshed);
  return {
    at,
    stop: () => manager.off("refreshed", onRefreshed),
  };
}

/** Polls `predicate` every 10 ms; rejects, naming `what`, after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a hang fails the test with a reason. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
