import type { CredentialsBinding } from "@redis-credentials/core";
import type { CredentialsProviderStatus } from "./credentials-provider-status";

/** What each factory made (and each `duplicate()` of it) → its binding. */
const bindings = new WeakMap<object, CredentialsBinding>();

export function rememberBinding(client: object, binding: CredentialsBinding): void {
  bindings.set(client, binding);
}

/**
 * The binding of a client, pool, cluster or sentinel made by this package's factories (or a
 * `duplicate()` of one): its `status()` and `dispose()`. Undefined for anything else.
 */
export function bindingOf(
  client: object,
): (CredentialsBinding & { status(): CredentialsProviderStatus }) | undefined {
  return bindings.get(client) as
    | (CredentialsBinding & { status(): CredentialsProviderStatus })
    | undefined;
}
