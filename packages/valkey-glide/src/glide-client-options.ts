import type { GlideClientConfiguration } from "@valkey/valkey-glide";
import type { GlideAdapterOptions } from "./glide-adapter-options";

/** `createGlideClient`'s configuration: GLIDE's own, without `credentials` (the manager supplies them). */
export type GlideClientOptions = Omit<GlideClientConfiguration, "credentials"> &
  GlideAdapterOptions & { credentials?: never };
