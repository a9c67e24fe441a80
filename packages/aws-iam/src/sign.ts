import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, QueryParameterBag } from "@smithy/types";
import type { ResolvedOptions } from "./options";

/**
 * The IAM auth token: the SigV4 presigned URL of `GET http://<cacheName>/?Action=connect&User=<userId>`
 * (plus `ResourceType=ServerlessCache` for ElastiCache Serverless), without its `http://`.
 * Signed by the AWS SDK's own signer with the SDK's Node.js SHA-256 (node:crypto).
 */
export async function signToken(
  options: Pick<
    ResolvedOptions,
    "userId" | "cacheName" | "region" | "service" | "serverless" | "expiresInSeconds"
  >,
  identity: AwsCredentialIdentity,
  signingTime: number,
): Promise<string> {
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: identity,
    sha256: Hash.bind(null, "sha256"),
  });
  const query: Record<string, string> = { Action: "connect", User: options.userId };
  if (options.serverless) query.ResourceType = "ServerlessCache";
  const request = new HttpRequest({
    method: "GET",
    protocol: "http:",
    hostname: options.cacheName,
    path: "/",
    query,
    headers: { host: options.cacheName },
  });
  const presigned = await signer.presign(request, {
    expiresIn: options.expiresInSeconds,
    signingDate: new Date(signingTime),
  });
  return `${presigned.hostname}${presigned.path}?${formatQuery(presigned.query ?? {})}`;
}

/**
 * A query string as the AWS SDK writes a presigned URL's (`formatUrl`, as `@aws-sdk/rds-signer`
 * uses it): keys sorted, keys and values percent-encoded per RFC 3986.
 */
export function formatQuery(query: QueryParameterBag): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    const name = uriEscape(key);
    if (Array.isArray(value)) {
      for (const item of value) parts.push(`${name}=${uriEscape(item)}`);
    } else if (typeof value === "string") {
      parts.push(`${name}=${uriEscape(value)}`);
    } else {
      parts.push(name);
    }
  }
  return parts.join("&");
}

/** RFC 3986: `encodeURIComponent` leaves `!'()*` alone, SigV4 encodes them. */
function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
