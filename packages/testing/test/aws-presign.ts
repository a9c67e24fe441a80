import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

// ElastiCache / MemoryDB IAM tokens signed by the AWS SDK's own signer (@smithy/signature-v4),
// as an application signs them, for the tests of the AWS verifier, which recomputes SigV4 by
// hand: the two share no code.

export interface PresignOptions {
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  region: string;
  cacheName: string;
  userId: string;
  /** @default "elasticache" */
  service?: string;
  /** Adds ResourceType=ServerlessCache. */
  serverless?: boolean;
  /** Replaces the whole query (Action, User, ResourceType). */
  query?: Record<string, string>;
  /** @default now */
  signingDate?: Date;
  /** @default 900 */
  expiresIn?: number;
  /** Sign with S3's payload hash, `UNSIGNED-PAYLOAD` (it travels in the query as x-amz-content-sha256). */
  unsignedPayload?: boolean;
}

/** A presigned `connect` URL without its `http://`, formatted as the AWS SDKs format one. */
export async function presign(options: PresignOptions): Promise<string> {
  const { cacheName } = options;
  const { accessKeyId, secretAccessKey, sessionToken } = options.credentials;
  const signer = new SignatureV4({
    service: options.service ?? "elasticache",
    region: options.region,
    credentials: {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken !== undefined && { sessionToken }),
    },
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: "GET",
    protocol: "http:",
    hostname: cacheName,
    path: "/",
    query: options.query ?? {
      Action: "connect",
      User: options.userId,
      ...(options.serverless && { ResourceType: "ServerlessCache" }),
    },
    headers: {
      host: cacheName,
      ...(options.unsignedPayload && { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }),
    },
  });
  const signed = await signer.presign(request, {
    expiresIn: options.expiresIn ?? 900,
    signingDate: options.signingDate ?? new Date(),
  });
  return formatToken(signed.hostname, signed.path, signed.query as Record<string, string>);
}

/** `<host><path>?<query>`, the parameters in the order given, URI-encoded as the SDKs encode them. */
export function formatToken(host: string, path: string, query: Record<string, string>): string {
  const encode = (text: string) =>
    encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const pairs = Object.entries(query).map(([name, value]) => `${encode(name)}=${encode(value)}`);
  return `${host}${path}?${pairs.join("&")}`;
}

/** When a token stops being accepted (epoch ms): X-Amz-Date + X-Amz-Expires. */
export function expiryOfAwsToken(token: string): number {
  const params = new URLSearchParams(token.slice(token.indexOf("?") + 1));
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
    params.get("X-Amz-Date")!,
  )!;
  const signedAt = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  return signedAt + Number(params.get("X-Amz-Expires")) * 1000;
}
