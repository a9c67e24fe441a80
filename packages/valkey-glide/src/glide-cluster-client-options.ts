import type { GlideClusterClientConfiguration } from "@valkey/valkey-glide";
import type { GlideAdapterOptions } from "./glide-adapter-options";

/** `createGlideClusterClient`'s configuration: GLIDE's own, without `credentials` (the manager supplies them). */
export type GlideClusterClientOptions = Omit<GlideClusterClientConfiguration, "credentials"> &
  GlideAdapterOptions & { credentials?: never };
