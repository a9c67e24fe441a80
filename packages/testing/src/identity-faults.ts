import type { ServerResponse } from "node:http";
import { InvalidOptionsError } from "@redis-credentials/core";

/**
 * Failures injected into the emulator's token requests (the Entra token endpoint, the
 * managed-identity endpoint and the Google metadata server's `service-accounts/<account>/token`)
 * at run time. The discovery documents (OpenID configuration, JWKS) and the metadata server's
 * other answers (its detection ping, the email, the project id) stay healthy: clients fetch them
 * once, and the failures that matter to a token refresh happen at the token endpoint. Error
 * bodies take each endpoint's shape: Entra's JSON, IMDS's shorter JSON, the metadata server's
 * plain text.
 *
 * `outage()`, `throttle()` and `hang()` are modes: setting one replaces the other two.
 * `latency()` adds to any of them, and `failNext()` counts down on requests no mode refused.
 * `restore()` clears everything.
 *
 * Beware MSAL's client-side throttling: under `ClientSecretCredential` and
 * `ClientCertificateCredential` (not `ManagedIdentityCredential`), once a token request's
 * final answer is a 5xx or a 429, that credential replays the error without asking the
 * server for 60 s (MSAL would honour `Retry-After`, but `@azure/identity` 4.13 hands it the
 * headers lower-cased and MSAL looks for `Retry-After`, so it is always 60 s). A test that
 * wants a recovery after `restore()` uses a new credential, or lets the credential's own
 * retries (`retryOptions`, which do reach the server) outlast the fault.
 *
 * google-auth-library (through gcp-metadata and gaxios) retries a metadata token request that
 * got a 5xx, a 429 or no answer three times, after 0.1 s, 0.5 s and 1.5 s: `failNext(3, 503)` is
 * absorbed, an outage fails after four requests, and a hung request that `restore()` drops is
 * retried (gcp-metadata gives up on an unanswered request after 3 s off Google Cloud).
 */
export interface IdentityFaults {
  /** Every token request gets 503 (an Entra-like `temporarily_unavailable` body from the Entra endpoints). */
  outage(): void;
  /** Delays every token request by `ms` before it is handled (0 removes the delay). */
  latency(ms: number): void;
  /**
   * Every token request gets 429 with `Retry-After: <retryAfterSeconds>`.
   * @default retryAfterSeconds 5
   */
  throttle(retryAfterSeconds?: number): void;
  /**
   * The next `count` token requests fail with HTTP `status` (400–599) and an Entra-like error
   * body (401: `invalid_client`, 5xx: `server_error`, others: `invalid_request`).
   */
  failNext(count: number, status: number): void;
  /**
   * Token requests get no answer. They are held until `restore()` or `stop()`, which drop
   * their connections (the client sees the socket close), so `stop()` never waits on them.
   */
  hang(): void;
  /** Back to healthy: no mode, no latency, no pending `failNext`; hung requests are dropped. */
  restore(): void;
}

export type FaultDecision =
  | { readonly kind: "proceed" }
  | { readonly kind: "outage" }
  | { readonly kind: "throttle"; readonly retryAfterSeconds: number }
  | { readonly kind: "fail"; readonly status: number }
  | { readonly kind: "hang" };

type Mode =
  | { readonly kind: "healthy" }
  | { readonly kind: "outage" }
  | { readonly kind: "throttle"; readonly retryAfterSeconds: number }
  | { readonly kind: "hang" };

const noFailures = () => ({ remaining: 0, status: 500 });

export class FaultController implements IdentityFaults {
  #mode: Mode = { kind: "healthy" };
  #latencyMs = 0;
  #failures = noFailures();
  readonly #held = new Set<ServerResponse>();
  readonly #delays = new Map<NodeJS.Timeout, () => void>();

  outage(): void {
    this.#setMode({ kind: "outage" });
  }

  latency(ms: number): void {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionsError("ms", "must be a finite number of milliseconds, 0 or more.");
    }
    this.#latencyMs = ms;
  }

  throttle(retryAfterSeconds = 5): void {
    if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
      throw new InvalidOptionsError(
        "retryAfterSeconds",
        "must be a whole number of seconds, 0 or more.",
      );
    }
    this.#setMode({ kind: "throttle", retryAfterSeconds });
  }

  failNext(count: number, status: number): void {
    if (!Number.isInteger(count) || count < 0) {
      throw new InvalidOptionsError("count", "must be a whole number, 0 or more.");
    }
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new InvalidOptionsError("status", "must be an HTTP error status (400–599).");
    }
    this.#failures = { remaining: count, status };
  }

  hang(): void {
    this.#setMode({ kind: "hang" });
  }

  restore(): void {
    this.#mode = { kind: "healthy" };
    this.#latencyMs = 0;
    this.#failures = noFailures();
    this.#dropHeld();
  }

  /** Waits out the injected latency, then says what to do with this token request. */
  async decide(): Promise<FaultDecision> {
    if (this.#latencyMs > 0) await this.#delay(this.#latencyMs);
    const mode = this.#mode;
    if (mode.kind !== "healthy") return mode;
    if (this.#failures.remaining > 0) {
      this.#failures.remaining -= 1;
      return { kind: "fail", status: this.#failures.status };
    }
    return { kind: "proceed" };
  }

  /** Keeps a hung request's response open until restore or stop. */
  hold(res: ServerResponse): void {
    this.#held.add(res);
    res.once("close", () => this.#held.delete(res));
  }

  /** On stop: drop held requests and release delayed ones (their sockets close anyway). */
  shutdown(): void {
    this.#dropHeld();
    for (const [timer, release] of this.#delays) {
      clearTimeout(timer);
      release();
    }
    this.#delays.clear();
  }

  #setMode(mode: Mode): void {
    const wasHanging = this.#mode.kind === "hang";
    this.#mode = mode;
    if (wasHanging && mode.kind !== "hang") this.#dropHeld();
  }

  #dropHeld(): void {
    for (const res of this.#held) res.socket?.destroy();
    this.#held.clear();
  }

  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#delays.delete(timer);
        resolve();
      }, ms);
      this.#delays.set(timer, resolve);
    });
  }
}
