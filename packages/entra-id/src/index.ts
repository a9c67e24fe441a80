export { classifyEntraIdError, type EntraIdErrorInfo } from "./classify-error";
export { type EntraIdOptions, entraId, REDIS_SCOPE } from "./entra-id";
export { EntraIdError } from "./errors";
export {
  type EntraIdSourceOptions,
  entraIdManagedIdentity,
  entraIdServicePrincipal,
  entraIdWorkloadIdentity,
  type ManagedIdentityOptions,
  type ServicePrincipalOptions,
  type WorkloadIdentityOptions,
} from "./identities";
