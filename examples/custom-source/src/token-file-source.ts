import { readFile } from "node:fs/promises";
import { type CredentialSource, credentialsFromJwt } from "@redis-credentials/core";

/**
 * Credentials from a token file that something else keeps fresh: a sidecar, Vault Agent, the
 * Secrets Store CSI driver. The file holds a JWT; its `exp` claim is the expiry, and its `oid`
 * claim the user name unless `username` is given.
 */
export function tokenFileSource(options: { path: string; username?: string }): CredentialSource {
  return {
    name: `token-file:${options.path}`, // shown in errors and events: never the token
    async fetch({ signal }) {
      const token = (await readFile(options.path, { encoding: "utf8", signal })).trim();
      // A file not rewritten yet brings the same token back: the manager then asks again, with
      // backoff, until a new one is there. A half-written file fails to parse: retried too.
      return credentialsFromJwt(token, options.username ? { username: options.username } : {});
    },
  };
}
