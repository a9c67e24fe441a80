import { appendFileSync } from "node:fs";
import { join } from "node:path";

/*
 * The secret scan's record of every token the test run issues (issue 17). The scan's jest
 * globalSetup names a run directory in RC_SECRET_SCAN_DIR and its per-file setup marks the test
 * context as captured; only then does each token minted here (emulator JWTs, Google access
 * tokens, passwords of scripted sources, AWS tokens the verifier accepted) go to a file of that
 * directory, which the scan's globalTeardown searches every captured output for. Unit runs mark
 * nothing, so they pay nothing.
 */

/** The environment variable naming the secret scan's run directory. */
export const SECRET_SCAN_DIR_ENV = "RC_SECRET_SCAN_DIR";

/** Set on the test context's global by the scan's capture setup while it captures. */
export const SECRET_CAPTURE_FLAG = Symbol.for("redis-credentials.secret-capture");

/** What a recorded secret is: the scan looks for each kind's distinctive parts. */
export type RecordedSecretKind =
  | "entra-token"
  | "google-access-token"
  | "aws-token"
  | "scripted-password";

/** Whether tokens issued now are recorded: a run directory is set and this context is captured. */
export function recordingSecrets(): boolean {
  return (
    (globalThis as Record<symbol, unknown>)[SECRET_CAPTURE_FLAG] === true &&
    process.env[SECRET_SCAN_DIR_ENV] !== undefined
  );
}

/** Records `value` (when it is a non-empty string) as a secret of `kind`, if the scan is on. */
export function recordSecret(kind: RecordedSecretKind, value: unknown): void {
  if (typeof value !== "string" || value.length === 0 || !recordingSecrets()) return;
  const directory = process.env[SECRET_SCAN_DIR_ENV] as string;
  // Written at once, not at exit: a worker that crashes still leaves what it issued.
  appendFileSync(
    join(directory, `secrets-${process.pid}.jsonl`),
    `${JSON.stringify({ kind, value })}\n`,
  );
}
