import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IdentityEmulator } from "../../src/identity-emulator";

/*
 * gaxios (google-auth-library's HTTP client) loads node-fetch with `await import()` on its first
 * request, which Jest's CommonJS runtime refuses without --experimental-vm-modules
 * (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG, which ADC reports as "Could not load the default
 * credentials"). Where a `window` exists, gaxios takes `window.fetch` instead: Node's own fetch.
 */
const globals = globalThis as { window?: { fetch: typeof fetch } };
globals.window ??= { fetch: (input, init) => globalThis.fetch(input, init) };

export const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

/**
 * Every variable google-auth-library (and the gcloud it runs to find a project) would read a
 * credential, a project or a metadata address from, besides GCE_METADATA_HOST.
 */
const GOOGLE_VARIABLES = [
  "GCE_METADATA_HOST",
  "GCE_METADATA_IP",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "CLOUDSDK_CONFIG",
  "METADATA_SERVER_DETECTION",
  "HOME",
];

/**
 * Points google-auth-library's Application Default Credentials at the emulator's metadata server
 * and nowhere else: GCE_METADATA_HOST set, no credentials file, HOME an empty directory (no gcloud
 * login or ADC file of the developer's). Returns what puts the environment back.
 */
export function pointGoogleAuthAt(idp: IdentityEmulator): () => void {
  const saved = new Map(GOOGLE_VARIABLES.map((name) => [name, process.env[name]]));
  const home = mkdtempSync(join(tmpdir(), "redis-credentials-gcp-home-"));
  for (const name of GOOGLE_VARIABLES) delete process.env[name];
  process.env.HOME = home;
  process.env.GCE_METADATA_HOST = idp.gceMetadataHost;
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(home, { recursive: true, force: true });
  };
}
