import { isHandshakeRefusal } from "@redis-credentials/core";

const reply = /\b(?:WRONGPASS|NOAUTH|ERR_IAM_EXHAUSTED|ERR_IAM_OTHER)\b[^\n)]*/;

/**
 * The server's refusal of a handshake, from the error `createClient` rejects with: GLIDE wraps
 * it (`ClosingError: Connection error: Standalone(Received error for address ...: WRONGPASS:
 * ...)`), and the session recognises a reply only as the message's start. Undefined for any
 * other failure.
 */
export function refusalReply(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const found = reply.exec(error.message)?.[0]?.trim();
  if (found === undefined) return undefined;
  const refusal = new Error(found, { cause: error });
  return isHandshakeRefusal(refusal) ? refusal : undefined;
}
