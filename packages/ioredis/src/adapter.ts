/**
 * `@redis-credentials/ioredis/adapter`: the ioredis adapter without ioredis. It imports no client
 * library; {@link createAdapter} takes the classes of an ioredis-compatible one (iovalkey's, in
 * `@redis-credentials/iovalkey`).
 */
export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export type { AdapterOptions, BindOptions } from "./adapter-options";
export type { ClientLibrary, ClientTypes } from "./client-library";
export { ClusterNotReadyError, type ClusterNotReadyReason } from "./cluster-not-ready-error";
export { ConnectionClosedError } from "./connection-closed-error";
export { type ClientAdapter, createAdapter } from "./create-adapter";
export { CLUSTER_READY_TIMEOUT_MS } from "./create-client";
