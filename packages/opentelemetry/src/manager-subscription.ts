import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type Attributes, diag } from "@opentelemetry/api";
import {
  type DiagnosticsChannelName,
  type DiagnosticsMessages,
  diagnosticsChannels,
  type FetchOutcome,
  type TokenManager,
} from "@redis-credentials/core";
import type { Instruments } from "./instruments";
import type { RemainingLife } from "./remaining-life";

type Listener = (message: unknown) => void;

/**
 * Records `life.manager`'s diagnostics messages on `instruments`: every channel carries every
 * manager's messages, so each is filtered on the manager's id. Attributes are the outcome, the
 * fetch reason and the source's name, all bounded; never the user name, an error message or a
 * token. Returns the function that unsubscribes.
 */
export function subscribeToManager(instruments: Instruments, life: RemainingLife): () => void {
  const { manager } = life;
  const source = manager.name;
  const fetched = (outcome: "success" | "unchanged" | "failure", message: FetchOutcome) => {
    const attributes: Attributes = { outcome, reason: message.reason, source };
    instruments.refreshes.add(1, attributes);
    instruments.fetchDuration.record(message.durationMs / 1_000, attributes);
  };
  const listeners = [
    listen(manager, diagnosticsChannels.refreshed, (message) => {
      life.arrived(message.expiresAt);
      fetched("success", message);
    }),
    listen(manager, diagnosticsChannels.unchanged, (message) => {
      if (message.expiresAt !== undefined) life.heldUntil(message.expiresAt);
      fetched("unchanged", message);
    }),
    listen(manager, diagnosticsChannels.refreshFailed, (message) => fetched("failure", message)),
    listen(manager, diagnosticsChannels.expired, () => instruments.expired.add(1, { source })),
    listen(manager, diagnosticsChannels.reauth, (message) =>
      instruments.reauth.add(1, { outcome: message.outcome, source }),
    ),
  ];
  return () => {
    for (const [name, listener] of listeners) unsubscribe(name, listener);
  };
}

/** Subscribes `record` to channel `name` for `manager`'s messages only. */
function listen<N extends DiagnosticsChannelName>(
  manager: TokenManager,
  name: N,
  record: (message: DiagnosticsMessages[N]) => void,
): [N, Listener] {
  const listener: Listener = (message) => {
    if ((message as DiagnosticsMessages[N]).manager !== manager.id) return;
    try {
      record(message as DiagnosticsMessages[N]);
    } catch (error) {
      // A listener that throws would crash the process (diagnostics_channel rethrows on the
      // next tick) from inside the token manager: metrics are never worth that.
      diag.error(`@redis-credentials/opentelemetry could not record a ${name} message`, error);
    }
  };
  subscribe(name, listener);
  return [name, listener];
}
