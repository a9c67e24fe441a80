import { describeError, isError } from "./describe-error";
import type { IamUnavailableCode } from "./errors";
import { isCredentialsRejection } from "./rejection-tracker";

// Memorystore answers AUTH with these when IAM cannot check a token now (quota, transient
// error); clients may prefix the reply (node-redis keeps it as is, ioredis too, GLIDE wraps it).
const iamReply = /\b(ERR_IAM_EXHAUSTED|ERR_IAM_OTHER)\b/;

/** The IAM code of a Redis error reply that says the token could not be checked now, if it is one. */
export function iamUnavailableCode(error: unknown): IamUnavailableCode | undefined {
  if (!isError(error)) return undefined;
  return iamReply.exec(describeError(error).message)?.[1] as IamUnavailableCode | undefined;
}

/**
 * Whether a reply to a handshake's AUTH or HELLO is one the connection session answers: the
 * credentials refused (WRONGPASS, NOAUTH), or IAM unable to check them (ERR_IAM_*).
 */
export function isHandshakeRefusal(error: unknown): boolean {
  return isCredentialsRejection(error) || iamUnavailableCode(error) !== undefined;
}
