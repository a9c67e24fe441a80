export {
  type AdapterTestSuiteOptions,
  type AdapterUnderTest,
  adapterTestSuite,
  type RespVersion,
  type SuiteClient,
  type SuiteConnectOptions,
  type SuiteExpect,
  type SuiteTarget,
  type SuiteTest,
  type SuiteTestFunction,
} from "./adapter-suite";
export {
  type AwsCredentials,
  type AwsService,
  type AwsTokenClaims,
  type AwsTokenRejection,
  type AwsTokenVerification,
  type AwsVerifier,
  type AwsVerifierOptions,
  createAwsVerifier,
} from "./aws-verifier";
export {
  type CertificateAuthority,
  type ClientCertificate,
  createCertificateAuthority,
  createClientCertificate,
} from "./certificates";
export { ClusterError, type TokenCluster } from "./cluster";
export {
  createFakeClock,
  DEFAULT_FAKE_CLOCK_START,
  FakeClock,
  FakeClockLoopError,
  type FakeClockOptions,
  flushPromises,
} from "./fake-clock";
export {
  createGcpVerifier,
  type GcpOptions,
  type GcpTokenClaims,
  type GcpTokenRejection,
  type GcpTokenVerification,
  type GcpVerifier,
  type GcpVerifierOptions,
  type GoogleTokenVerifier,
} from "./gcp-verifier";
export type {
  GoogleAccessTokenClaims,
  GoogleTokenRejection,
  GoogleTokenVerification,
} from "./google-access-tokens";
export {
  type IdentityEmulator,
  type IdentityEmulatorOptions,
  type IdentityEmulatorStats,
  type IdentityFaults,
  type IssueGoogleAccessTokenOptions,
  type ManagedIdentity,
  type RegisterClientOptions,
  type RegisteredClient,
  type RegisterManagedIdentityOptions,
  startIdentityEmulator,
} from "./identity-emulator";
export type { JsonWebKey } from "./json-web-key";
export { RedisServerNotFoundError, RedisServerStartError } from "./redis-process";
export { SentinelError, type TokenSentinel } from "./sentinel";
export {
  type DelayStep,
  type EmulatorClientOptions,
  type EmulatorObjectOptions,
  type EmulatorSourceIdentity,
  EmulatorTokenError,
  emulatorSource,
  type HangStep,
  type ScriptAnswer,
  ScriptExhaustedError,
  type ScriptedSource,
  type ScriptedSourceOptions,
  type ScriptStep,
  type SourceCall,
  scriptedSource,
} from "./sources";
export {
  createTokenIssuer,
  type IssueTokenOptions,
  startTokenIssuer,
  type TokenClaims,
  type TokenIssuer,
  type TokenIssuerOptions,
  type TokenRejection,
  type TokenVerification,
} from "./token-issuer";
export type {
  AuthErrorReply,
  AuthSecond,
  ConnectionFilter,
  ConnectionStats,
  TokenRedisStats,
  TokenVerifier,
  VerifiedClaims,
  VerifierResult,
} from "./token-proxy";
export { startTokenRedis } from "./token-redis";
export type {
  AwsTokenRedisOptions,
  ClusterOptions,
  GcpTokenRedisOptions,
  IdentityTokenRedisOptions,
  SentinelOptions,
  TokenRedis,
  TokenRedisOptions,
  TokenRedisServerOptions,
} from "./token-redis-types";
