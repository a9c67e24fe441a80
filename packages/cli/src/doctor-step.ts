/** The checks `runDoctor` makes, in the order it makes them (`nodes` only for a cluster). */
export type DoctorStepName =
  | "credentials"
  | "dns"
  | "tcp"
  | "tls"
  | "auth"
  | "whoami"
  | "roundtrip"
  | "nodes";

/**
 * One check and its outcome: what was found (`detail`) and, when it failed, what to do
 * (`remedy`). A step that could not run because one it needs failed has `ok: false` and
 * `skipped: true`. Never holds a token or a password.
 */
export interface DoctorStep {
  readonly name: DoctorStepName;
  readonly ok: boolean;
  /** What the step found, or why it failed; several lines for `nodes` (one per node). */
  readonly detail: string;
  /** What to do about the failure: only on a failed step that ran. */
  readonly remedy?: string;
  /** The step did not run: a step it needs failed. */
  readonly skipped?: true;
}
