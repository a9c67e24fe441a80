import type { TokenRedis } from "@redis-credentials/testing";
import type { IdentitySwitch } from "./identity-switch";
import type { FaultWindow, Ledger } from "./ledger";
import type { Prng } from "./prng";

/** Token lifetime of the soak (the emulator's): 2 s. */
export const TOKEN_LIFETIME_MS = 2_000;
/** After a fault ends, clients may take this long to be back (reconnect backoff, resubscribe). */
export const GRACE_MS = 5_000;
/** After the outage past expiry every connection was closed and reconnects: a longer grace. */
export const LONG_OUTAGE_GRACE_MS = 10_000;
/** The outage past expiry: every token expires while the identity provider is down. */
export const LONG_OUTAGE_MS = 2 * TOKEN_LIFETIME_MS + 1_500;

export const FAULT_KINDS = ["kill", "restart", "pause", "identity-outage"] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Target {
  name: string;
  server: TokenRedis;
}

export interface SchedulerOptions {
  ledger: Ledger;
  prng: Prng;
  identity: IdentitySwitch;
  targets: Target[];
  /** Faults start this long after `run()` and stop `tailMs` before `durationMs`. */
  warmupMs: number;
  tailMs: number;
  durationMs: number;
  /** Called after the outage past expiry (and its grace): makes again what cannot come back. */
  afterLongOutage(window: FaultWindow): Promise<void>;
  log(line: string): void;
}

/**
 * Injects faults one at a time, each chosen by the seeded PRNG, with a quiet gap after each
 * (its grace period plus 2-6 s), and the one outage past expiry at the middle of the run. Each
 * fault's window is recorded in the ledger before it starts.
 */
export function scheduleFaults(options: SchedulerOptions): { done: Promise<void>; stop(): void } {
  const { ledger, prng, identity, targets } = options;
  let stopped = false;
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  // Sleeps in short steps, so that stop() ends the run within 100 ms.
  const wait = async (ms: number) => {
    const until = Date.now() + ms;
    while (!stopped && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
  };
  const window = (kind: string, detail: string, graceMs = GRACE_MS): FaultWindow => {
    const w = { kind, detail, start: Date.now(), end: Number.POSITIVE_INFINITY, graceMs };
    ledger.windows.push(w);
    options.log(`+${(elapsed() / 1000).toFixed(1)}s fault ${kind} ${detail}`);
    return w;
  };

  const inject = async (kind: (typeof FAULT_KINDS)[number]) => {
    const target = prng.pick(targets);
    const node = prng.between(0, target.server.nodes.length - 1);
    if (kind === "kill") {
      const share = prng.between(5, 30) / 100;
      const w = window(kind, `${target.name}: ${Math.round(share * 100)}% of connections`);
      const killed = target.server.killConnections(() => prng.next() < share);
      w.detail += ` (${killed} killed)`;
      w.end = Date.now();
    } else if (kind === "restart") {
      const w = window(kind, `${target.name} node ${node}`);
      try {
        await target.server.restartNode(node);
      } finally {
        w.end = Date.now();
      }
    } else if (kind === "pause") {
      const ms = prng.between(200, 1_500);
      const w = window(kind, `${target.name} node ${node} for ${ms} ms`);
      target.server.pauseNode(node, ms);
      await sleep(ms);
      w.end = Date.now();
    } else {
      // Shorter than the 1 s between a token's refresh and its expiry: no token expires.
      const ms = prng.between(200, 900);
      const w = window(kind, `${ms} ms`);
      identity.outage();
      await sleep(ms);
      identity.restore();
      w.end = Date.now();
    }
  };

  const longOutage = async () => {
    const w = window("identity-outage-past-expiry", `${LONG_OUTAGE_MS} ms`, LONG_OUTAGE_GRACE_MS);
    identity.outage();
    try {
      await sleep(LONG_OUTAGE_MS);
    } finally {
      identity.restore();
      w.end = Date.now();
    }
    await wait(LONG_OUTAGE_GRACE_MS);
    await options.afterLongOutage(w);
  };

  const done = (async () => {
    await wait(options.warmupMs);
    let longDone = false;
    const lastStart = options.durationMs - options.tailMs;
    while (!stopped && elapsed() < lastStart) {
      if (!longDone && elapsed() >= options.durationMs / 2 - LONG_OUTAGE_MS / 2) {
        longDone = true;
        await longOutage();
      } else {
        await inject(prng.pick(FAULT_KINDS));
        await wait(GRACE_MS);
      }
      await wait(prng.between(2_000, 6_000));
    }
    // A run too short to reach its middle still gets its outage past expiry.
    if (!stopped && !longDone) await longOutage();
  })();
  return {
    done,
    stop() {
      stopped = true;
    },
  };
}
