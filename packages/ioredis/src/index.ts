export type { CredentialsBinding, CredentialsBindingStatus } from "@redis-credentials/core";
export { bindCredentials } from "./bind-credentials";
export type { BindOptions } from "./bind-options";
export {
  type CreateClusterOptions,
  type CreateRedisOptions,
  createCluster,
  createRedis,
} from "./create-client";
export { bindingOf } from "./ioredis-binding";
