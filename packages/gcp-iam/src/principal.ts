/**
 * Who a google-auth-library client gets tokens for, in words for a message: the principal to
 * grant roles to, never a secret. Read from the clients' public fields by shape, since the class
 * may come from another copy of the library (and `Impersonated`'s field is private only to
 * TypeScript).
 */
export function describePrincipal(client: unknown): string {
  if (typeof client !== "object" || client === null) return "AuthClient";
  const fields = client as Record<string, unknown>;
  const className = classNameOf(client);
  try {
    // JWT: a service account key.
    if (isText(fields.email)) return `service account ${fields.email}`;
    // Compute: the metadata server's service account, "default" unless one was named.
    if (isText(fields.serviceAccountEmail)) {
      return fields.serviceAccountEmail === "default"
        ? "the default service account of the metadata server"
        : `service account ${fields.serviceAccountEmail} (metadata server)`;
    }
    if (isText(fields.targetPrincipal)) {
      return `service account ${fields.targetPrincipal} (impersonated)`;
    }
    // External account clients (workload identity federation): impersonated or the pool's own.
    if (typeof fields.getServiceAccountEmail === "function") {
      const email: unknown = (fields.getServiceAccountEmail as () => unknown).call(client);
      if (isText(email)) {
        return `service account ${email} (impersonated through workload identity federation)`;
      }
      return isText(fields.audience)
        ? `workload identity federation (${fields.audience})`
        : `workload identity federation (${className})`;
    }
    if (className === "UserRefreshClient" || "_refreshToken" in fields) {
      return isText(fields._clientId)
        ? `gcloud user credentials (client id ${fields._clientId})`
        : "gcloud user credentials";
    }
  } catch {
    // A getter that throws says nothing about the principal: the class name does.
  }
  return className;
}

/** The class name, or "AuthClient" for a plain object (whose "Object" would say nothing). */
function classNameOf(value: object): string {
  try {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" && name.length > 0 && name !== "Object" ? name : "AuthClient";
  } catch {
    return "AuthClient";
  }
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 300;
}
