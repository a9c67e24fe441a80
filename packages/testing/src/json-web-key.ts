/**
 * A public key as a JWKS endpoint publishes it (RFC 7517). Our own type: `@types/node` stopped
 * exporting `JsonWebKey` from `node:crypto`, and a published declaration that imports it fails
 * to compile in a user's project on a current `@types/node`.
 */
export interface JsonWebKey {
  kty?: string;
  kid?: string;
  use?: string;
  alg?: string;
  /** RSA modulus and exponent, base64url. */
  n?: string;
  e?: string;
  [parameter: string]: unknown;
}
