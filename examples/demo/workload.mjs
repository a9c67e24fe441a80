// A steady workload: each worker runs its commands one after another with a short pause (a
// paced load, so the live view and the timers stay punctual on a small machine), and a
// publisher sends a numbered message every PUBLISH_EVERY_MS to a subscriber that counts them.
// Every failed command is counted and logged: the point of the demo is that there are none.
import { setTimeout as sleep } from "node:timers/promises";

const OP_PAUSE_MS = 4;
const PUBLISH_EVERY_MS = 75;

export function startWorkload({ workers, pubsub }, log) {
  let running = true;
  const stats = workers.map((w) => ({ name: w.name, ops: 0, errors: 0 }));
  const messages = { published: 0, publishErrors: 0, received: 0, outOfOrder: 0 };

  const logError = (who, error) => {
    const line = String(error?.message ?? error).split("\n")[0];
    log(`COMMAND FAILED on ${who}: ${line}`);
  };

  const loops = workers.map(async (w, i) => {
    while (running) {
      try {
        await w.op();
        stats[i].ops++;
      } catch (error) {
        stats[i].errors++;
        logError(w.name, error);
      }
      await sleep(OP_PAUSE_MS);
    }
  });

  let lastSeq = 0;
  const subscribed = pubsub.subscribe((message) => {
    const seq = Number(message);
    if (seq <= lastSeq) messages.outOfOrder++;
    lastSeq = seq;
    messages.received++;
  });

  const publishing = (async () => {
    await subscribed;
    let seq = 0;
    while (running) {
      try {
        await pubsub.publish(String(++seq));
        messages.published++;
      } catch (error) {
        messages.publishErrors++;
        logError("publisher", error);
      }
      await sleep(PUBLISH_EVERY_MS);
    }
  })();

  return {
    stats,
    messages,
    /** No new commands from now on (on Ctrl-C, which also reaches the local redis-servers). */
    halt() {
      running = false;
    },
    /** Stops the loops, waits for the commands in flight, then for the last messages to arrive. */
    async stop() {
      running = false;
      await Promise.all([...loops, publishing]);
      for (let waited = 0; messages.received < messages.published && waited < 2_000; ) {
        await sleep(50);
        waited += 50;
      }
    },
  };
}
