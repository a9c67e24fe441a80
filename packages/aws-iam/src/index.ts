export { awsIam } from "./aws-iam";
export { type AwsIamErrorInfo, classifyAwsIamError } from "./classify-error";
export type { ChainTrace } from "./default-chain";
export { AwsIamError, type AwsIamErrorCode } from "./errors";
export { type AwsIamOptions, type AwsIamService, MAX_EXPIRES_IN_SECONDS } from "./options";
