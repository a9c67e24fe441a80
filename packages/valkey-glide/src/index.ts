export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export { bindingOf } from "./binding-of";
export { createGlideClient } from "./create-glide-client";
export { createGlideClusterClient } from "./create-glide-cluster-client";
export type { GlideAdapterOptions } from "./glide-adapter-options";
export type { GlideClientOptions } from "./glide-client-options";
export type { GlideClusterClientOptions } from "./glide-cluster-client-options";
export { UsernameChangedError } from "./username-changed-error";
