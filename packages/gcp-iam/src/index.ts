export { classifyGcpIamError, type GcpIamErrorInfo } from "./classify-error";
export { GcpIamError, type GcpIamErrorCode } from "./errors";
export { gcpIam } from "./gcp-iam";
export {
  CLOUD_PLATFORM_SCOPE,
  DEFAULT_USERNAME,
  type GcpIamOptions,
  type GoogleAuthClient,
  type GoogleAuthLike,
} from "./options";
