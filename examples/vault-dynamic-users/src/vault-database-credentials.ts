import {
  type CredentialSource,
  CredentialSourceError,
  createCredentials,
} from "@redis-credentials/core";

export interface VaultDatabaseCredentialsOptions {
  /** Vault's address, e.g. `https://vault.example.com:8200` (what `VAULT_ADDR` holds). */
  address: string;
  /** A Vault token whose policy allows `read` on `<mount>/creds/<role>`. */
  token: string;
  /** The database secrets engine role that creates Redis users. */
  role: string;
  /** Where the database secrets engine is mounted. @default "database" */
  mount?: string;
  /** The namespace, on Vault Enterprise and HCP Vault (`admin` there). @default none */
  namespace?: string;
}

/** What `GET /v1/<mount>/creds/<role>` answers. */
interface Lease {
  lease_id: string;
  /** Seconds. */
  lease_duration: number;
  data?: { username?: string; password?: string };
}

/**
 * Redis credentials leased from HashiCorp Vault's database secrets engine: each fetch leases a
 * new Redis user, and the lease's TTL is the credentials' expiry. Leases are not renewed: the
 * token manager takes a new user before the lease ends, and Vault drops the old one when it does.
 */
export function vaultDatabaseCredentials(
  options: VaultDatabaseCredentialsOptions,
): CredentialSource {
  const path = `${options.mount ?? "database"}/creds/${options.role}`;
  const url = new URL(`/v1/${path}`, options.address);
  const headers: Record<string, string> = { "X-Vault-Token": options.token };
  if (options.namespace) headers["X-Vault-Namespace"] = options.namespace;
  return {
    name: `vault:${path}`, // shown in errors and events: never the token
    async fetch({ signal }) {
      const requestedAt = Date.now(); // the lease starts no earlier than the request
      const response = await fetch(url, { headers, signal });
      if (!response.ok) throw await refusal(response, path);
      const lease = (await response.json()) as Lease;
      // The manager checks what this returns: a missing user name or password is its error.
      return createCredentials({
        username: lease.data?.username ?? "",
        password: lease.data?.password ?? "",
        expiresAt: requestedAt + lease.lease_duration * 1000,
      });
    },
  };
}

/** Vault's error answer as an error the token manager retries, or not when no retry can help. */
async function refusal(response: Response, path: string): Promise<CredentialSourceError> {
  // Vault's error bodies are `{ "errors": [...] }`, messages that hold no secret.
  const body = (await response.json().catch(() => ({}))) as { errors?: unknown };
  const errors = Array.isArray(body.errors) ? body.errors.join("; ") : response.statusText;
  // A token without access (403), an unknown role (400): a retry cannot fix them. A sealed or
  // standby Vault (503), a rate limit (429): it can.
  const permanent = [400, 401, 403, 404].includes(response.status);
  const remedy = permanent
    ? ` Check the role, and that the token's policy allows read on ${path}.`
    : "";
  return new CredentialSourceError(
    `Vault answered HTTP ${response.status} to the lease of ${path}: ${errors}.${remedy}`,
    { code: `http_${response.status}`, status: response.status, retryable: !permanent },
  );
}
