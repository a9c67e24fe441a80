export { MAX_TIMER_DELAY_MS, realClock } from "./clock";
export { createCredentials, sameCredentials, staticCredentials } from "./credentials";
export { type DiagnosticsChannelName, diagnosticsChannels } from "./diagnostics";
export {
  CredentialsError,
  CredentialsExpiredError,
  CredentialsFetchError,
  CredentialsRejectedError,
  InsecureTransportError,
  InvalidOptionsError,
  InvalidTokenError,
  isPermanent,
  ManagerDisposedError,
  markPermanent,
} from "./errors";
export { credentialsFromJwt, decodeJwtClaims, type JwtClaims } from "./jwt";
export { defaultOptions } from "./options";
export {
  createRejectionTracker,
  isCredentialsRejection,
  type RejectionOutcome,
  type RejectionTracker,
  type RejectionTrackerOptions,
} from "./rejection-tracker";
export { createTokenManager } from "./token-manager";
export type {
  Clock,
  CredentialSource,
  CredentialsListener,
  ExpiredEvent,
  FetchContext,
  FetchReason,
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
