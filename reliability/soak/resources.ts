import { readdirSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** The process's resources at one moment, after a full garbage collection. */
export interface ResourceFigures {
  heapUsedMb: number;
  /** Entries of /proc/self/fd (undefined where there is no /proc). */
  fds: number | undefined;
  /** process.getActiveResourcesInfo() by type: Timeout, TCPSocketWrap... */
  active: Record<string, number>;
  timers: number;
  sockets: number;
  listeners: number;
}

/** `global.gc` when node runs with --expose-gc, else one obtained at run time. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

const gc = collector();

/** Collects garbage until the heap stops shrinking (weak references need more than one pass). */
export async function collectGarbage(): Promise<void> {
  for (let pass = 0; pass < 4; pass++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export function heapUsedMb(): number {
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
}

export async function measureResources(listeners: number): Promise<ResourceFigures> {
  await collectGarbage();
  const active: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) active[type] = (active[type] ?? 0) + 1;
  let fds: number | undefined;
  try {
    fds = readdirSync("/proc/self/fd").length;
  } catch {
    fds = undefined;
  }
  return {
    heapUsedMb: heapUsedMb(),
    fds,
    active,
    timers: active.Timeout ?? 0,
    sockets: (active.TCPSocketWrap ?? 0) + (active.TCPWrap ?? 0),
    listeners,
  };
}
