import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { formatReport, scanRunDirectory } from "./secret-scan";
import { OWNED_MARKER } from "./secret-scan-setup";

/**
 * The secret scan's check (issue 17), a jest globalTeardown: after every project has run, every
 * token the run recorded is searched for in everything the capture kept. A leak fails the run,
 * naming the test file and the kind of capture, and the run directory is kept for a look.
 */
export default function secretScanTeardown(): void {
  const directory = process.env.RC_SECRET_SCAN_DIR;
  if (!directory || !existsSync(directory)) return;
  const report = scanRunDirectory(directory);
  process.stderr.write(`\n${formatReport(report)}\n`);
  if (report.findings.length > 0) {
    throw new Error(
      `The secret scan found ${report.findings.length} token leak(s), listed above; the captures are in ${directory}.`,
    );
  }
  if (existsSync(join(directory, OWNED_MARKER)) && process.env.RC_SECRET_SCAN_KEEP !== "1") {
    rmSync(directory, { recursive: true, force: true });
  }
}
