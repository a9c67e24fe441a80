export {
  type AdapterOptions,
  type CreateClientOptions,
  type CreateClusterOptions,
  type CreateSentinelOptions,
  createClient,
  createClientPool,
  createCluster,
  createSentinel,
} from "./create-client";
export {
  type CredentialsProviderOptions,
  type CredentialsProviderStatus,
  credentialsProvider,
  type TokenCredentialsProvider,
} from "./credentials-provider";
