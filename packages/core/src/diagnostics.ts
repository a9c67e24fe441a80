import diagnosticsChannel from "node:diagnostics_channel";
import type { DiagnosticsMessages } from "./diagnostics-messages";

/**
 * The `node:diagnostics_channel` channels a token manager publishes its lifecycle on. Every
 * message carries `{ manager, source }` (a process-unique manager id and the source's name) and
 * never a password or token.
 */
export const diagnosticsChannels = {
  /** A fetch attempt starts: `{ reason, attempt }`. */
  fetch: "redis-credentials:fetch",
  /** New credentials: `{ reason, durationMs, username, expiresAt, nextRefreshAt }`. */
  refreshed: "redis-credentials:refreshed",
  /** An attempt failed: `{ reason, durationMs, error: { name, message }, permanent, nextRefreshAt }`. */
  refreshFailed: "redis-credentials:refresh-failed",
  /** A fetch returned the credentials already held: `{ reason, durationMs, expiresAt, nextRefreshAt }`. */
  unchanged: "redis-credentials:unchanged",
  /** Held credentials lapsed with no replacement: `{ expiredAt }`. */
  expired: "redis-credentials:expired",
  /** The first success after `expired`: `{ downtimeMs }`. */
  recovered: "redis-credentials:recovered",
  /** New credentials are being handed to subscribers: `{ subscribers, spreadMs }`. */
  fanOut: "redis-credentials:fan-out",
  /** A subscriber or event handler threw: `{ error: { name, message } }`. */
  subscriberError: "redis-credentials:subscriber-error",
  /** A connection's re-AUTH was answered: `{ client, target, outcome, error? }`. */
  reauth: "redis-credentials:reauth",
} as const;

export type DiagnosticsChannelName = (typeof diagnosticsChannels)[keyof typeof diagnosticsChannels];

const channels = new Map<string, diagnosticsChannel.Channel>();

/** Publishes `message` on channel `name`, typed by the channel, only while someone listens. */
export function publish<N extends DiagnosticsChannelName>(
  name: N,
  message: DiagnosticsMessages[N],
): void {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = diagnosticsChannel.channel(name);
    channels.set(name, channel);
  }
  if (channel.hasSubscribers) channel.publish(message);
}
