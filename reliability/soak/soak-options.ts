/** The four adapters the soak can drive. */
export const ADAPTERS = ["ioredis", "iovalkey", "node-redis", "valkey-glide"] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** What a soak run is told by its environment (printed, so that a run can be replayed). */
export interface SoakOptions {
  /** SOAK_DURATION_MS: how long the faults and the workload run. @default 120000 */
  durationMs: number;
  /** SOAK_SEED: the seed of every random choice of the fault scheduler. @default random */
  seed: number;
  /** SOAK_ADAPTERS: comma-separated. @default all four */
  adapters: AdapterName[];
  /** SOAK_CONNECTIONS: the connections aimed at across every adapter. @default 500 */
  connections: number;
}

export class SoakOptionsError extends Error {
  override name = "SoakOptionsError";
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new SoakOptionsError(`${name} must be a positive integer, got ${JSON.stringify(raw)}.`);
  }
  return value;
}

export function soakOptions(env: NodeJS.ProcessEnv = process.env): SoakOptions {
  const adapters = (env.SOAK_ADAPTERS ?? ADAPTERS.join(","))
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  for (const name of adapters) {
    if (!(ADAPTERS as readonly string[]).includes(name)) {
      throw new SoakOptionsError(
        `SOAK_ADAPTERS: unknown adapter ${JSON.stringify(name)}; use some of ${ADAPTERS.join(", ")}.`,
      );
    }
  }
  if (adapters.length === 0) throw new SoakOptionsError("SOAK_ADAPTERS names no adapter.");
  return {
    durationMs: positiveInteger("SOAK_DURATION_MS", env.SOAK_DURATION_MS, 120_000),
    seed: positiveInteger("SOAK_SEED", env.SOAK_SEED, 1 + Math.floor(Math.random() * 2 ** 31)),
    adapters: adapters as AdapterName[],
    connections: positiveInteger("SOAK_CONNECTIONS", env.SOAK_CONNECTIONS, 500),
  };
}
