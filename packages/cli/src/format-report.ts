import type { DoctorReport } from "./doctor-report";
import type { DoctorStep } from "./doctor-step";

const NAME_WIDTH = 12;
const INDENT = " ".repeat(6 + NAME_WIDTH);

/** What the doctor checked, for the report's first line. */
export interface ReportHeading {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly cluster: boolean;
}

/**
 * The report as `redis-credentials doctor` prints it: one line per step (PASS, FAIL or SKIP, the
 * step, what it found), the remedy under a failure, and a closing count.
 */
export function formatReport(report: DoctorReport, heading: ReportHeading): string {
  const target = `${heading.host}:${heading.port} (${heading.tls ? "TLS" : "plaintext"}${heading.cluster ? ", cluster" : ""})`;
  const lines = [`redis-credentials doctor: ${target}`, ""];
  for (const step of report.steps) lines.push(...stepLines(step));
  lines.push("", summary(report));
  return `${lines.join("\n")}\n`;
}

function stepLines(step: DoctorStep): string[] {
  const mark = step.ok ? "PASS" : step.skipped ? "SKIP" : "FAIL";
  const [first = "", ...more] = step.detail.split("\n");
  const lines = [
    `${mark}  ${step.name.padEnd(NAME_WIDTH)}${first}`,
    ...more.map((line) => `${INDENT}${line}`),
  ];
  if (step.remedy !== undefined) {
    const [head = "", ...rest] = step.remedy.split("\n");
    lines.push(`${INDENT}remedy: ${head}`, ...rest.map((line) => `${INDENT}        ${line}`));
  }
  return lines;
}

function summary(report: DoctorReport): string {
  const total = report.steps.length;
  if (report.ok) return `All ${total} steps passed.`;
  const failed = report.steps.filter((step) => !step.ok && !step.skipped).length;
  const skipped = report.steps.filter((step) => step.skipped).length;
  return `${failed} of ${total} steps failed${skipped > 0 ? `, ${skipped} skipped` : ""}.`;
}

/** The report as `--json` prints it: `{ "ok", "steps": [{ "name", "ok", "detail", "remedy"?, "skipped"? }] }`. */
export function reportJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
