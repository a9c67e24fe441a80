import { InvalidOptionsError, ManagerDisposedError } from "@redis-credentials/core";
import { instrumentTokenManager } from "@redis-credentials/opentelemetry";
import type { BadInputContext } from "./bad-input-context";
import type { BadInputRow } from "./bad-input-row";

const entry = "opentelemetry.instrumentTokenManager";

/** The OpenTelemetry package's entry point: a manager and a meter provider, each wrong. */
export function opentelemetryRows(context: BadInputContext): BadInputRow[] {
  /** `instrumentTokenManager(manager, options)`, its handle disposed after the row. */
  const instrument = (manager: () => unknown, options?: unknown) => () =>
    context.track(instrumentTokenManager(manager() as never, options as never), (handle) =>
      handle.dispose(),
    );
  const invalid = (input: string, run: () => unknown, message: string): BadInputRow => ({
    entry,
    input,
    run,
    error: InvalidOptionsError,
    message,
  });
  return [
    invalid(
      "no manager",
      instrument(() => undefined),
      "`manager`",
    ),
    invalid(
      "a plain object for the manager",
      instrument(() => ({})),
      "`manager`",
    ),
    invalid(
      "a credential source for the manager",
      instrument(() => ({ name: "x", fetch: async () => undefined })),
      "`manager`",
    ),
    {
      entry,
      input: "a disposed manager",
      run: instrument(() => context.disposedManager()),
      error: ManagerDisposedError,
      message: "disposed",
    },
    invalid(
      "options a string",
      instrument(() => context.manager(), "global"),
      "`options`",
    ),
    invalid(
      "options null",
      instrument(() => context.manager(), null),
      "`options`",
    ),
    invalid(
      "unknown key meter (for meterProvider)",
      instrument(() => context.manager(), { meter: {} }),
      "meter",
    ),
    invalid(
      "misspelt key meterProvder",
      instrument(() => context.manager(), { meterProvder: {} }),
      "meterProvider",
    ),
    invalid(
      "a meterProvider without getMeter",
      instrument(() => context.manager(), { meterProvider: {} }),
      "`meterProvider`",
    ),
    invalid(
      "a Meter passed as the meterProvider",
      instrument(() => context.manager(), { meterProvider: { createCounter: () => ({}) } }),
      "is a Meter",
    ),
    invalid(
      "a meterProvider whose getMeter() returns nothing",
      instrument(() => context.manager(), { meterProvider: { getMeter: () => undefined } }),
      "getMeter() returned no meter",
    ),
    invalid(
      "the same manager twice on one meter provider",
      () => {
        const manager = context.manager();
        instrument(() => manager)();
        return instrument(() => manager)();
      },
      "already instrumented",
    ),
  ];
}
