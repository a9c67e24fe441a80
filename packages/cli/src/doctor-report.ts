import type { DoctorStep } from "./doctor-step";

/**
 * What `runDoctor` found: `ok` when every step passed. `JSON.stringify(report)` is the
 * `--json` output of `redis-credentials doctor`.
 */
export interface DoctorReport {
  readonly ok: boolean;
  readonly steps: readonly DoctorStep[];
}
