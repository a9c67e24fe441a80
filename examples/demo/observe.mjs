// What the demo shows, and where each piece comes from. Nothing is inferred or made up:
//   - the token manager's events (`refreshed`, `refreshFailed`, `expired`, `recovered`) and its
//     diagnostics channels (`fetch`, `fanOut`): fetches, rotations, jitter windows, retries;
//   - the Redis clients' own tracing channels (`ioredis:command`, `node-redis:command`, which
//     ioredis 6 and node-redis 6 publish for every command they send): each AUTH the adapters
//     send on a live connection, and the server's reply to it. Those channels redact AUTH's
//     arguments, so no token passes through here.
// Tokens are only ever shown as a short sha256 fingerprint.
import { createHash } from "node:crypto";
import diagnosticsChannel from "node:diagnostics_channel";
import { diagnosticsChannels } from "@redis-credentials/core";

export const fingerprint = (token) =>
  token ? createHash("sha256").update(token).digest("hex").slice(0, 8) : "--------";

/** Logs the manager's lifecycle to `log(text)`; returns counters and an `unsubscribe()`. */
export function observeManager(manager, log, relative) {
  const counters = { rotations: 0 };
  let fanOutAt = 0;

  const onFetch = (message) => {
    if (message.reason === "retry") log(`fetch: retry #${message.attempt}`);
    else log(`fetch (${message.reason})`);
  };
  const onFanOut = (message) => {
    fanOutAt = Date.now();
    log(
      `fan-out of the new token to ${message.subscribers} connections over ${Math.round(message.spreadMs)} ms`,
    );
  };
  diagnosticsChannel.subscribe(diagnosticsChannels.fetch, onFetch);
  diagnosticsChannel.subscribe(diagnosticsChannels.fanOut, onFanOut);

  manager.on("refreshed", (event) => {
    if (event.reason !== "initial") counters.rotations++;
    const token = fingerprint(manager.peekCredentials()?.password);
    const lifeS = ((event.expiresAt - Date.now()) / 1000).toFixed(1);
    let text = `new token ${token} (${event.reason}), lives ${lifeS} s`;
    if (event.refreshWindow && event.nextRefreshAt) {
      const { earliest, latest } = event.refreshWindow;
      // The jitter: the refresh lands at a random point of [earliest, latest].
      text += `; next refresh ${relative(event.nextRefreshAt)}, drawn from [${relative(earliest)}, ${relative(latest)}]`;
    }
    log(text);
  });
  manager.on("refreshFailed", (error) => {
    const { nextRefreshAt, expiresAt } = manager.status();
    const timeout = /did not answer within (\d+) ms/.exec(error.message);
    const reason = timeout
      ? `no answer within ${timeout[1]} ms (fetchTimeoutMs), attempt aborted`
      : firstLine(error.cause ?? error);
    const left = expiresAt ? `; held token still good for ${secondsUntil(expiresAt)}` : "";
    log(`fetch failed: ${reason}; retry in ${Math.round(nextRefreshAt - Date.now())} ms${left}`);
  });
  manager.on("expired", () => log("EXPIRED: the held token lapsed with no replacement"));
  manager.on("recovered", (event) => log(`recovered after ${event.downtimeMs} ms`));

  return {
    counters,
    sinceFanOut: () => (fanOutAt ? Date.now() - fanOutAt : undefined),
    unsubscribe() {
      diagnosticsChannel.unsubscribe(diagnosticsChannels.fetch, onFetch);
      diagnosticsChannel.unsubscribe(diagnosticsChannels.fanOut, onFanOut);
    },
  };
}

/**
 * Counts the AUTH commands each client sent and what Redis answered. Those are the re-AUTHs of
 * live connections when new credentials are fanned out; a new connection's handshake is
 * HELLO 3 AUTH, not counted here, except on the RESP2 connection ioredis opens to read a
 * cluster's slots, whose handshake is a plain AUTH.
 * `nameOf(library, context)` names the client from the channel's context.
 */
export function observeReauth(log, nameOf, sinceFanOut, spreadMs) {
  const byClient = new Map(); // name -> { ok, refused }
  const entry = (name) => {
    if (!byClient.has(name)) byClient.set(name, { ok: 0, refused: 0 });
    return byClient.get(name);
  };
  const subscriptions = [];
  for (const library of ["ioredis", "node-redis"]) {
    const channel = diagnosticsChannel.tracingChannel(`${library}:command`);
    const isAuth = (context) => String(context.command).toUpperCase() === "AUTH";
    const handlers = {
      start() {},
      end() {},
      asyncStart() {},
      asyncEnd(context) {
        if (!isAuth(context) || context.error) return;
        const name = nameOf(library, context);
        entry(name).ok++;
        // Within a fan-out (it lasts at most reauthSpreadMs), an AUTH is that fan-out landing.
        const into = sinceFanOut();
        log(
          into !== undefined && into <= spreadMs + 500
            ? `re-AUTH OK on ${name} (+${into} ms into the fan-out)`
            : `AUTH OK on ${name}`,
        );
      },
      error(context) {
        if (!isAuth(context)) return;
        const name = nameOf(library, context);
        entry(name).refused++;
        log(`AUTH on ${name} FAILED: ${firstLine(context.error)}`);
      },
    };
    channel.subscribe(handlers);
    subscriptions.push(() => channel.unsubscribe(handlers));
  }
  return {
    byClient,
    total: () => [...byClient.values()].reduce((sum, n) => sum + n.ok, 0),
    unsubscribe: () => {
      for (const unsubscribe of subscriptions) unsubscribe();
    },
  };
}

export const secondsUntil = (epochMs) => `${((epochMs - Date.now()) / 1000).toFixed(1)} s`;

function firstLine(error) {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = text.split("\n")[0];
  return line.length > 140 ? `${line.slice(0, 140)}...` : line;
}
