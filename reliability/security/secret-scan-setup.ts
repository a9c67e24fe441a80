import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Marks a run directory this setup made, which the teardown removes after a clean scan. */
export const OWNED_MARKER = ".made-by-secret-scan-setup";

/**
 * The secret scan's jest globalSetup (issue 17): a run directory for the tokens the run issues
 * and for what the capture keeps, named in RC_SECRET_SCAN_DIR, which the workers inherit.
 * `RC_SECRET_SCAN=0` turns the scan off (to measure what it costs); a RC_SECRET_SCAN_DIR already
 * set is used as it is and kept.
 */
export default function secretScanSetup(): void {
  if (process.env.RC_SECRET_SCAN === "0") {
    delete process.env.RC_SECRET_SCAN_DIR;
    return;
  }
  if (process.env.RC_SECRET_SCAN_DIR) return;
  const directory = mkdtempSync(join(tmpdir(), "rc-secret-scan-"));
  writeFileSync(join(directory, OWNED_MARKER), "");
  process.env.RC_SECRET_SCAN_DIR = directory;
}
