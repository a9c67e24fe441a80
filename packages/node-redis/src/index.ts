export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export { bindingOf } from "./binding-of";
export {
  createClient,
  createClientPool,
  createCluster,
  createSentinel,
} from "./create-client";
export { credentialsProvider } from "./credentials-provider";
export type { CredentialsProviderOptions } from "./credentials-provider-options";
export type { CredentialsProviderStatus } from "./credentials-provider-status";
export type {
  AdapterOptions,
  CreateClientOptions,
  CreateClusterOptions,
  CreateSentinelOptions,
} from "./factory-options";
export type { TokenCredentialsProvider } from "./token-credentials-provider";
