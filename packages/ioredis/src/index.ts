export { bindCredentials } from "./bind-credentials";
export type { BindOptions, CredentialsBinding, CredentialsBindingStatus } from "./binding-group";
export {
  type CreateClusterOptions,
  type CreateRedisOptions,
  createCluster,
  createRedis,
} from "./create-client";
