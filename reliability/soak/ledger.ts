/**
 * What a soak run counts: every command (by fleet and kind), every failure with the time it was
 * in flight, the fault windows, and the messages each subscriber was expected to get and got.
 */

/** A fault's time span; a failure in it (or in the grace after it) is the fault's, not the run's. */
export interface FaultWindow {
  kind: string;
  detail: string;
  start: number;
  end: number;
  /** How long after `end` clients may still be recovering. */
  graceMs: number;
}

export interface Failure {
  fleet: string;
  kind: string;
  start: number;
  end: number;
  message: string;
}

/** One subscriber: the messages it received, by publisher sequence number. */
export interface SubscriberTally {
  fleet: string;
  name: string;
  resp: 2 | 3;
  received: Set<number>;
  duplicates: number;
}

export class Ledger {
  readonly windows: FaultWindow[] = [];
  readonly failures: Failure[] = [];
  readonly commands = new Map<string, number>();
  readonly subscribers: SubscriberTally[] = [];
  /** Published messages by fleet: sequence number → publish time (after PUBLISH returned). */
  readonly published = new Map<string, Map<number, { start: number; end: number }>>();
  readonly #excuses: { fleet: string; from: number; to: number; reason: string }[] = [];
  /** Errors the clients emitted on their `error` event, by fleet and message. */
  readonly clientErrors = new Map<string, number>();

  clientError(fleet: string, error: unknown): void {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const key = `${fleet}: ${message.slice(0, 100)}`;
    this.clientErrors.set(key, (this.clientErrors.get(key) ?? 0) + 1);
  }

  ok(fleet: string, kind: string): void {
    const key = `${fleet} ${kind}`;
    this.commands.set(key, (this.commands.get(key) ?? 0) + 1);
  }

  fail(fleet: string, kind: string, start: number, error: unknown): void {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.failures.push({ fleet, kind, start, end: Date.now(), message: message.slice(0, 300) });
  }

  /** Failures of `fleet` from `from` to `to` are a documented limitation's, reported apart. */
  excuse(fleet: string, from: number, to: number, reason: string): void {
    this.#excuses.push({ fleet, from, to, reason });
  }

  /** Whether [start, end] overlaps a fault window or the grace after it. */
  inWindow(start: number, end: number): boolean {
    return this.windows.some((w) => end >= w.start && start <= w.end + w.graceMs);
  }

  subscriber(fleet: string, name: string, resp: 2 | 3): SubscriberTally {
    const tally = { fleet, name, resp, received: new Set<number>(), duplicates: 0 };
    this.subscribers.push(tally);
    return tally;
  }

  receive(tally: SubscriberTally, message: string): void {
    const sequence = Number(message);
    if (tally.received.has(sequence)) tally.duplicates++;
    else tally.received.add(sequence);
  }

  publishedBy(fleet: string): Map<number, { start: number; end: number }> {
    let published = this.published.get(fleet);
    if (published === undefined) {
      published = new Map();
      this.published.set(fleet, published);
    }
    return published;
  }

  totalCommands(): number {
    let total = 0;
    for (const count of this.commands.values()) total += count;
    return total;
  }

  /**
   * Failures outside every window, those inside one, and those a documented client limitation
   * accounts for (see `excuse`; classified here, as an excuse is known only after the fact).
   */
  splitFailures(): {
    outside: Failure[];
    inside: Failure[];
    excused: (Failure & { reason: string })[];
  } {
    const outside: Failure[] = [];
    const inside: Failure[] = [];
    const excused: (Failure & { reason: string })[] = [];
    for (const failure of this.failures) {
      const excuse = this.#excuses.find(
        (e) => e.fleet === failure.fleet && failure.end >= e.from && failure.start <= e.to,
      );
      if (excuse) excused.push({ ...failure, reason: excuse.reason });
      else (this.inWindow(failure.start, failure.end) ? inside : outside).push(failure);
    }
    return { outside, inside, excused };
  }

  /**
   * The first failure of each fleet, kind and message outside the windows, with its time from
   * `origin` and how long after the end of the latest window's grace it came.
   */
  firstOutside(outside: Failure[], origin: number) {
    const seen = new Map<string, { at: string; afterGraceMs: number | undefined; count: number }>();
    for (const failure of outside) {
      const key = `${failure.fleet} ${failure.kind}: ${failure.message.slice(0, 120)}`;
      const entry = seen.get(key);
      if (entry) {
        entry.count++;
        continue;
      }
      const before = this.windows.filter((w) => w.start <= failure.start);
      const last = before.at(-1);
      seen.set(key, {
        at: `+${((failure.start - origin) / 1000).toFixed(1)}s`,
        afterGraceMs: last && failure.start - (last.end + last.graceMs),
        count: 1,
      });
    }
    return Object.fromEntries(seen);
  }

  /**
   * Per subscriber: messages published outside every window (PUBLISH in flight outside them)
   * that it never received, and those published inside one that it missed.
   */
  missedMessages() {
    return this.subscribers.map((tally) => {
      let missedOutside = 0;
      let missedInside = 0;
      let expectedOutside = 0;
      const excuses = this.#excuses.filter((e) => e.fleet === tally.fleet);
      for (const [sequence, at] of this.publishedBy(tally.fleet)) {
        // A subscriber made again after a documented limitation missed what came before it.
        if (excuses.some((e) => at.end >= e.from && at.start <= e.to)) continue;
        const inside = this.inWindow(at.start, at.end);
        if (!inside) expectedOutside++;
        if (tally.received.has(sequence)) continue;
        if (inside) missedInside++;
        else missedOutside++;
      }
      return {
        subscriber: `${tally.fleet} ${tally.name} (RESP${tally.resp})`,
        resp: tally.resp,
        fleet: tally.fleet,
        received: tally.received.size,
        expectedOutside,
        missedOutside,
        missedInside,
        duplicates: tally.duplicates,
      };
    });
  }
}
