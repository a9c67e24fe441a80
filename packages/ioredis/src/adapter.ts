/**
 * `@redis-credentials/ioredis/adapter`: the ioredis adapter without ioredis. It imports no client
 * library; {@link createAdapter} takes the classes of an ioredis-compatible one (iovalkey's, in
 * `@redis-credentials/iovalkey`).
 */
export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export type { AdapterOptions, BindOptions } from "./adapter-options";
export type { ClientLibrary, ClientTypes } from "./client-library";
export { type ClientAdapter, createAdapter } from "./create-adapter";
