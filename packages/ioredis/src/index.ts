export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export { bindCredentials } from "./bind-credentials";
export { createCluster, createRedis } from "./create-client";
export type {
  AdapterOptions,
  BindOptions,
  CreateClusterOptions,
  CreateRedisOptions,
} from "./factory-options";
export { bindingOf } from "./ioredis-binding";
