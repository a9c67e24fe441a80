import {
  type Clock,
  type CredentialSource,
  createCredentials,
  realClock,
} from "@redis-credentials/core";

/**
 * The clock of a machine whose wall clock is stepped (an NTP correction, a VM resumed from a
 * snapshot): `now()` is Date.now() moved by every `step` so far, while the monotonic reading and
 * the timers run in real time, as performance.now() and setTimeout do through such a step.
 */
export interface SteppingClock {
  readonly clock: Clock;
  /** Moves the wall clock by `ms` (negative: back). */
  step(ms: number): void;
  readonly offsetMs: number;
}

export function steppingClock(): SteppingClock {
  let offsetMs = 0;
  return {
    clock: { ...realClock, now: () => Date.now() + offsetMs },
    step(ms) {
      offsetMs += ms;
    },
    get offsetMs() {
      return offsetMs;
    },
  };
}

/**
 * Wraps `source` so that its credentials expire `expires_in` after the client's clock at receipt,
 * as identity libraries compute `expiresOnTimestamp` from a token endpoint's `expires_in`: the
 * identity provider keeps real time (its `expires_in` is the token's remaining life, in whole
 * seconds), the client dates it by a clock that may have been stepped.
 */
export function datedByClientClock(source: CredentialSource, clock: Clock): CredentialSource {
  return {
    name: source.name,
    async fetch(context) {
      const credentials = await source.fetch(context);
      const expiresInSeconds = Math.floor((credentials.expiresAt - Date.now()) / 1_000);
      return createCredentials({
        username: credentials.username,
        password: credentials.password,
        expiresAt: clock.now() + expiresInSeconds * 1_000,
      });
    },
  };
}
