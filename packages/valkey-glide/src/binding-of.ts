import type { CredentialsBinding } from "@redis-credentials/core";

/** Each client made by the factories → its binding. */
const bindings = new WeakMap<object, CredentialsBinding>();

export function rememberBinding(client: object, binding: CredentialsBinding): void {
  bindings.set(client, binding);
}

/**
 * The binding of a GLIDE client made by `createGlideClient` or `createGlideClusterClient`: its
 * `status()` and `dispose()`. Undefined for anything else.
 */
export function bindingOf(client: object): CredentialsBinding | undefined {
  return bindings.get(client);
}
