// The live view. On a terminal: a panel redrawn 4 times a second (ANSI: move the cursor back
// up over the previous panel and clear to the end of the screen), with the last events under
// it. Elsewhere (CI, a pipe, a file): each event as a timestamped line and a one-line status
// every 5 s, with no escape codes.
import { fingerprint, secondsUntil } from "./observe.mjs";

const REDRAW_MS = 250;
const STATUS_EVERY_MS = 5_000;
const EVENTS_SHOWN = 10;

export function createView({ tty, startedAt }) {
  const relative = (epochMs) => `+${((epochMs - startedAt) / 1000).toFixed(1)}s`;
  const events = [];
  let snapshot; // () => the numbers to show; set by start()
  let timer;
  let drawnLines = 0;
  const rates = new Map(); // worker name -> { ops, at, perSecond }

  function event(text) {
    const line = `[${relative(Date.now()).padStart(7)}] ${text}`;
    if (!tty || snapshot === undefined) {
      console.log(line);
      return;
    }
    events.push(line);
    if (events.length > EVENTS_SHOWN) events.shift();
  }

  /** ops/s over the last second or so, per worker. */
  function rate(worker) {
    const now = Date.now();
    const last = rates.get(worker.name);
    if (last === undefined) {
      rates.set(worker.name, { ops: worker.ops, at: now, perSecond: 0 });
      return 0;
    }
    if (now - last.at >= 1_000) {
      last.perSecond = ((worker.ops - last.ops) * 1_000) / (now - last.at);
      last.ops = worker.ops;
      last.at = now;
    }
    return last.perSecond;
  }

  function tokenLine(s) {
    const { status } = s;
    const token = fingerprint(s.token);
    if (status.lastRefreshAt === undefined) return `token    ${status.state}`;
    const age = ((Date.now() - status.lastRefreshAt) / 1000).toFixed(1);
    const expires = status.expiresAt ? secondsUntil(status.expiresAt) : "-";
    // No nextRefreshAt while an attempt is in flight.
    const next = status.nextRefreshAt
      ? `next ${status.lastError ? "retry" : "refresh"} in ${secondsUntil(status.nextRefreshAt)}`
      : "fetching a new token";
    return `token ${token}  age ${age} s  expires in ${expires}  ${next}  (${status.state})`;
  }

  function panel() {
    const s = snapshot();
    const lines = [
      `redis-credentials demo  ${relative(Date.now())}  workload ${s.runS.toFixed(0)} of ${s.durationS} s  ${s.mode}`,
      tokenLine(s),
      `fetches ${s.status.counters.fetches} (failed ${s.status.counters.failures})  rotations ${s.rotations}` +
        `  AUTHs sent ${s.reauths}${s.serverAuths === undefined ? "" : `  AUTHs accepted by the server ${s.serverAuths}`}` +
        `${s.outage ? `  outage: ${s.outage}` : ""}`,
      "",
      `${"client".padEnd(20)}${"ops/s".padStart(8)}${"ops".padStart(10)}${"errors".padStart(8)}${"AUTHs".padStart(8)}`,
    ];
    for (const w of s.workers) {
      lines.push(
        `${w.name.padEnd(20)}${rate(w).toFixed(0).padStart(8)}${String(w.ops).padStart(10)}` +
          `${String(w.errors).padStart(8)}${String(s.reauthOf(w.name)).padStart(8)}`,
      );
    }
    const m = s.messages;
    lines.push(
      `${"pub/sub".padEnd(20)}published ${m.published}, received ${m.received}, publish errors ${m.publishErrors}` +
        `  (subscriber AUTHs ${s.reauthOf("subscriber")})`,
      "",
      "last events:",
      ...events,
    );
    return lines;
  }

  function redraw() {
    // A line wider than the terminal would wrap and throw the cursor arithmetic off.
    const width = process.stdout.columns || 120;
    const lines = panel().map((line) => line.slice(0, width - 1));
    // Back to the top of the previous panel, clear everything below, draw again.
    const up = drawnLines > 0 ? `\x1b[${drawnLines}F\x1b[0J` : "";
    process.stdout.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    drawnLines = lines.length;
  }

  let lastStatusAt = 0;
  function statusLine() {
    if (Date.now() - lastStatusAt < 1_000) return; // the final one may follow the periodic one
    lastStatusAt = Date.now();
    const s = snapshot();
    const ops = s.workers.map((w) => `${w.name} ${w.ops}/${w.errors}`).join(", ");
    const m = s.messages;
    console.log(
      `[${relative(Date.now()).padStart(7)}] status: ${tokenLine(s)}; ops/errors ${ops}; ` +
        `messages ${m.received}/${m.published}; AUTHs ${s.reauths}`,
    );
  }

  return {
    event,
    relative,
    start(getSnapshot) {
      snapshot = getSnapshot;
      if (tty) {
        process.stdout.write("\x1b[?25l"); // hide the cursor while redrawing
        redraw();
        timer = setInterval(redraw, REDRAW_MS);
      } else {
        timer = setInterval(statusLine, STATUS_EVERY_MS);
      }
    },
    stop() {
      clearInterval(timer);
      if (snapshot === undefined) return;
      if (tty) {
        redraw(); // the final state stays on screen
        process.stdout.write("\x1b[?25h");
      } else {
        statusLine();
      }
      snapshot = undefined;
    },
  };
}
