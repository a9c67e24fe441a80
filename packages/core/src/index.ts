export { assertNoCredentialOptions, assertTokenManager } from "./adapter-checks";
export { assertKnownOptions } from "./assert-known-options";
export { MAX_TIMER_DELAY_MS, realClock } from "./clock";
export { ConnectionSession } from "./connection-session";
export { createCredentials, sameCredentials, staticCredentials } from "./credentials";
export type { CredentialsBinding } from "./credentials-binding";
export type { CredentialsBindingStatus } from "./credentials-binding-status";
export { type DiagnosticsChannelName, diagnosticsChannels } from "./diagnostics";
export type {
  DescribedError,
  DiagnosticsMessage,
  DiagnosticsMessages,
  ExpiredMessage,
  FanOutMessage,
  FetchMessage,
  FetchOutcome,
  ReauthMessage,
  RecoveredMessage,
  RefreshedMessage,
  RefreshFailedMessage,
  SubscriberErrorMessage,
  UnchangedMessage,
} from "./diagnostics-messages";
export {
  CredentialSourceError,
  type CredentialSourceErrorDetails,
  CredentialsError,
  CredentialsExpiredError,
  CredentialsFetchError,
  CredentialsRejectedError,
  type IamUnavailableCode,
  IamUnavailableError,
  InsecureTransportError,
  InvalidOptionsError,
  InvalidTokenError,
  isPermanent,
  ManagerDisposedError,
  markPermanent,
} from "./errors";
export { iamUnavailableCode, isHandshakeRefusal } from "./iam-reply";
export { credentialsFromJwt, decodeJwtClaims, type JwtClaims } from "./jwt";
export { assertNoMisspeltOptions, likelyMeant } from "./misspelt-options";
export { defaultOptions } from "./options";
export {
  createRejectionTracker,
  isCredentialsRejection,
  type RejectionOutcome,
  type RejectionTracker,
  type RejectionTrackerOptions,
} from "./rejection-tracker";
export { parseRetryAfter, type RetryAfter, retryAfterOf } from "./retry-after";
export { SessionGroup } from "./session-group";
export type { ConnectionState, SessionPort } from "./session-port";
export { createTokenManager } from "./token-manager";
export type {
  Clock,
  CredentialSource,
  CredentialsListener,
  ExpiredEvent,
  FetchContext,
  FetchReason,
  GetCredentialsOptions,
  RecoveredEvent,
  RedisCredentials,
  RefreshedEvent,
  RetryOptions,
  TokenManager,
  TokenManagerEvent,
  TokenManagerEvents,
  TokenManagerOptions,
  TokenManagerState,
  TokenManagerStatus,
} from "./types";
export { abortReason, untilAborted } from "./until-aborted";
