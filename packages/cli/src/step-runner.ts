import type { DoctorStep, DoctorStepName } from "./doctor-step";
import { describeFailure, type RemedyContext } from "./remedies";
import { withTimeout } from "./with-timeout";

/**
 * Runs the steps in order and records each: passed with what it found, failed with a remedy,
 * or skipped when a step it needs did not pass. A step never throws out of here.
 */
export class StepRunner {
  readonly steps: DoctorStep[] = [];
  private readonly notPassed = new Set<DoctorStepName>();

  constructor(
    private readonly timeoutMs: number,
    private readonly context: () => RemedyContext,
  ) {}

  /** Runs `work` unless one of `needs` did not pass; returns whether the step passed. */
  async run(
    name: DoctorStepName,
    needs: readonly DoctorStepName[],
    work: (signal: AbortSignal) => Promise<string>,
    timeouts = 1,
  ): Promise<boolean> {
    const blocker = needs.find((need) => this.notPassed.has(need));
    if (blocker !== undefined) {
      this.notPassed.add(name);
      this.steps.push({
        name,
        ok: false,
        detail: `not run: the ${blocker} step did not pass`,
        skipped: true,
      });
      return false;
    }
    try {
      const detail = await withTimeout(this.timeoutMs * timeouts, work);
      this.steps.push({ name, ok: true, detail });
      return true;
    } catch (error) {
      this.notPassed.add(name);
      const { detail, remedy } = describeFailure(name, error, this.context());
      this.steps.push({ name, ok: false, detail, remedy });
      return false;
    }
  }
}
