import type { MeterProvider, ObservableCallback } from "@opentelemetry/api";
import { InvalidOptionsError, type TokenManager } from "@redis-credentials/core";
import { createInstruments, type Instruments } from "./instruments";
import type { RemainingLife } from "./remaining-life";
import { SCOPE_NAME, SCOPE_VERSION } from "./scope";

/** What one meter provider holds for the managers instrumented on it. */
interface ProviderEntry {
  readonly instruments: Instruments;
  readonly lives: Map<TokenManager, RemainingLife>;
  readonly observe: ObservableCallback;
}

// One entry per provider, so that the gauge has one callback that sees every manager: two
// managers of the same source report the shorter remaining life, not whichever came last.
const entries = new WeakMap<MeterProvider, ProviderEntry>();

/**
 * Registers `life`'s manager with `provider` and returns the provider's instruments. Refuses a
 * manager already instrumented there: its every refresh would be counted twice.
 */
export function attach(provider: MeterProvider, life: RemainingLife): Instruments {
  const entry = entries.get(provider) ?? createEntry(provider);
  if (entry.lives.has(life.manager)) {
    throw new InvalidOptionsError(
      "manager",
      "is already instrumented with this meter provider, and would be counted twice: dispose() the first handle, or pass another `meterProvider`.",
    );
  }
  if (entry.lives.size === 0) entry.instruments.remaining.addCallback(entry.observe);
  entries.set(provider, entry);
  entry.lives.set(life.manager, life);
  return entry.instruments;
}

/** Forgets `manager` on `provider`; the last one gone, the gauge's callback goes too. */
export function detach(provider: MeterProvider, manager: TokenManager): void {
  const entry = entries.get(provider);
  if (entry === undefined || !entry.lives.delete(manager)) return;
  if (entry.lives.size === 0) entry.instruments.remaining.removeCallback(entry.observe);
}

function createEntry(provider: MeterProvider): ProviderEntry {
  const meter = provider.getMeter(SCOPE_NAME, SCOPE_VERSION);
  if (typeof meter?.createCounter !== "function") {
    throw new InvalidOptionsError(
      "meterProvider",
      "getMeter() returned no meter: pass a MeterProvider of @opentelemetry/sdk-metrics (or the Node SDK's).",
    );
  }
  const lives = new Map<TokenManager, RemainingLife>();
  return {
    instruments: createInstruments(meter),
    lives,
    observe: (result) => {
      for (const [source, seconds] of shortestBySource(lives.values())) {
        result.observe(seconds, { source });
      }
    },
  };
}

/** The shortest remaining life (seconds) per source name, of the managers holding credentials. */
function shortestBySource(lives: Iterable<RemainingLife>): Map<string, number> {
  const shortest = new Map<string, number>();
  for (const life of lives) {
    const seconds = life.seconds();
    if (seconds === undefined) continue;
    const source = life.manager.name;
    shortest.set(source, Math.min(seconds, shortest.get(source) ?? seconds));
  }
  return shortest;
}
