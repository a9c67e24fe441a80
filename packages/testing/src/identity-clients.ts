import { type KeyObject, randomBytes, timingSafeEqual, X509Certificate } from "node:crypto";
import { InvalidOptionsError } from "@redis-credentials/core";
import { type EntraError, entraErrors } from "./identity-responses";
import { newId, parseJwt, verifySignature } from "./token-issuer";

export interface RegisterClientOptions {
  /** @default a fresh uuid */
  clientId?: string;
  /**
   * The client secret `ClientSecretCredential` presents.
   * @default a generated secret, when no `certificatePem` is given either
   */
  clientSecret?: string;
  /**
   * PEM holding the client's certificate (a PEM with the private key too, as
   * `createClientCertificate().pem`, is fine: only the certificate is read). Client
   * assertions signed with its key (RS256 or PS256) are accepted.
   */
  certificatePem?: string;
  /** The service principal's object id: the token's `oid`, the Redis user name. @default a fresh uuid */
  objectId?: string;
  /** @default the emulator's tokenLifetimeMs */
  tokenLifetimeMs?: number;
}

export interface RegisteredClient {
  readonly clientId: string;
  /** The secret, when the client has one (given or generated). */
  readonly clientSecret?: string;
  readonly objectId: string;
}

export interface RegisterManagedIdentityOptions {
  /** @default a fresh uuid */
  clientId?: string;
  /** The token's `oid`, the Redis user name. @default a fresh uuid */
  objectId?: string;
  /** The ARM resource id (`msi_res_id`). @default a made-up resource id */
  resourceId?: string;
  /** @default the emulator's tokenLifetimeMs */
  tokenLifetimeMs?: number;
  /**
   * Replace the system-assigned identity (the one a credential without ids gets)
   * instead of adding a user-assigned one. With no ids given, returns the current one.
   * @default false
   */
  systemAssigned?: boolean;
}

export interface ManagedIdentity {
  readonly clientId: string;
  readonly objectId: string;
  readonly resourceId: string;
}

export interface ClientRecord {
  readonly clientId: string;
  readonly objectId: string;
  readonly clientSecret: string | undefined;
  readonly certificateKey: KeyObject | undefined;
  readonly tokenLifetimeMs: number | undefined;
}

export interface ManagedIdentityRecord extends ManagedIdentity {
  readonly tokenLifetimeMs: number | undefined;
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
// Entra tolerates some clock skew on client assertions.
const assertionSkewSeconds = 300;

/**
 * Checks `options` is an object (else names the known keys, all optional) holding only `known`
 * keys.
 */
export function assertOptions(what: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError(
      "options",
      `pass { ${known.map((key) => `${key}?`).join(", ")} }.`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidOptionsError(key, `is not an option of ${what} (${known.join(", ")}).`);
    }
  }
}

export function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidOptionsError(name, "must be a non-empty string when given.");
  }
  return value;
}

export function optionalLifetime(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1000) {
    throw new InvalidOptionsError(
      name,
      "must be a finite number of milliseconds, at least 1000 (tokens expire in whole seconds).",
    );
  }
  return value;
}

function certificatePublicKey(pem: unknown): KeyObject {
  const block =
    typeof pem === "string"
      ? /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)
      : null;
  if (block === null) {
    throw new InvalidOptionsError("certificatePem", "must be a PEM holding a CERTIFICATE block.");
  }
  try {
    return new X509Certificate(block[0]).publicKey;
  } catch (error) {
    throw new InvalidOptionsError(
      "certificatePem",
      `is not a readable X.509 certificate (${(error as Error).message}).`,
    );
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The emulated directory: app registrations and managed identities. */
export class Directory {
  readonly #clients = new Map<string, ClientRecord>();
  readonly #identities: ManagedIdentityRecord[] = [];
  #systemAssigned: ManagedIdentityRecord;

  constructor() {
    this.#systemAssigned = this.#newIdentity({}, "system");
  }

  registerClient(options: RegisterClientOptions = {}): RegisteredClient {
    assertOptions("registerClient", options, [
      "clientId",
      "clientSecret",
      "certificatePem",
      "objectId",
      "tokenLifetimeMs",
    ]);
    const clientId = optionalString("clientId", options.clientId) ?? newId();
    if (this.#clients.has(clientId)) {
      throw new InvalidOptionsError("clientId", `'${clientId}' is already registered.`);
    }
    const certificateKey =
      options.certificatePem === undefined
        ? undefined
        : certificatePublicKey(options.certificatePem);
    let clientSecret = optionalString("clientSecret", options.clientSecret);
    if (clientSecret === undefined && certificateKey === undefined) {
      clientSecret = randomBytes(30).toString("base64url");
    }
    const record: ClientRecord = {
      clientId,
      objectId: optionalString("objectId", options.objectId) ?? newId(),
      clientSecret,
      certificateKey,
      tokenLifetimeMs: optionalLifetime("tokenLifetimeMs", options.tokenLifetimeMs),
    };
    this.#clients.set(clientId, record);
    return clientSecret === undefined
      ? { clientId, objectId: record.objectId }
      : { clientId, clientSecret, objectId: record.objectId };
  }

  registerManagedIdentity(options: RegisterManagedIdentityOptions = {}): ManagedIdentity {
    assertOptions("registerManagedIdentity", options, [
      "clientId",
      "objectId",
      "resourceId",
      "tokenLifetimeMs",
      "systemAssigned",
    ]);
    if (options.systemAssigned !== undefined && typeof options.systemAssigned !== "boolean") {
      throw new InvalidOptionsError("systemAssigned", "must be a boolean when given.");
    }
    const { systemAssigned, ...ids } = options;
    if (systemAssigned === true) {
      if (Object.values(ids).every((value) => value === undefined)) {
        return publicIdentity(this.#systemAssigned);
      }
      this.#systemAssigned = this.#newIdentity(ids, "system");
      return publicIdentity(this.#systemAssigned);
    }
    const identity = this.#newIdentity(ids, "user");
    const clash = this.#identities.find(
      (known) =>
        known.clientId === identity.clientId ||
        known.objectId === identity.objectId ||
        known.resourceId.toLowerCase() === identity.resourceId.toLowerCase(),
    );
    if (clash !== undefined) {
      throw new InvalidOptionsError(
        "clientId",
        "a managed identity with one of these ids is already registered.",
      );
    }
    this.#identities.push(identity);
    return publicIdentity(identity);
  }

  /** The identity an IMDS request names (none: the system-assigned one). */
  findManagedIdentity(
    by: { clientId?: string; objectId?: string; resourceId?: string } = {},
  ): ManagedIdentityRecord | undefined {
    if (by.clientId !== undefined)
      return this.#identities.find((id) => id.clientId === by.clientId);
    if (by.objectId !== undefined)
      return this.#identities.find((id) => id.objectId === by.objectId);
    if (by.resourceId !== undefined) {
      // ARM resource ids are case-insensitive.
      const wanted = by.resourceId.toLowerCase();
      return this.#identities.find((id) => id.resourceId.toLowerCase() === wanted);
    }
    return this.#systemAssigned;
  }

  /**
   * Checks the client's credential as Entra does; returns the client or the refusal.
   * `tokenEndpoint` is the audience a client assertion must carry.
   */
  authenticate(
    params: URLSearchParams,
    tenant: string,
    tokenEndpoint: string,
  ): ClientRecord | EntraError {
    const clientId = params.get("client_id");
    const assertion = params.get("client_assertion");
    const secret = params.get("client_secret");
    if (clientId === null || clientId === "") {
      // MSAL always sends client_id; a bare assertion would name the client in `iss`.
      return entraErrors.missingParameter("client_id");
    }
    const client = this.#clients.get(clientId);
    if (client === undefined) return entraErrors.unknownClient(clientId, tenant);
    if (assertion !== null) {
      if (params.get("client_assertion_type") !== jwtBearer) {
        return entraErrors.missingParameter("client_assertion_type");
      }
      return checkAssertion(client, assertion, tokenEndpoint) ?? client;
    }
    if (secret === null) return entraErrors.missingCredential();
    if (client.clientSecret === undefined || !sameSecret(secret, client.clientSecret)) {
      return entraErrors.wrongSecret(clientId);
    }
    return client;
  }

  #newIdentity(
    options: Omit<RegisterManagedIdentityOptions, "systemAssigned">,
    kind: "system" | "user",
  ): ManagedIdentityRecord {
    const clientId = optionalString("clientId", options.clientId) ?? newId();
    const defaultResource =
      kind === "system"
        ? `/subscriptions/${newId()}/resourceGroups/redis-credentials-testing/providers/Microsoft.Compute/virtualMachines/emulated-vm`
        : `/subscriptions/${newId()}/resourceGroups/redis-credentials-testing/providers/Microsoft.ManagedIdentity/userAssignedIdentities/identity-${clientId}`;
    return {
      clientId,
      objectId: optionalString("objectId", options.objectId) ?? newId(),
      resourceId: optionalString("resourceId", options.resourceId) ?? defaultResource,
      tokenLifetimeMs: optionalLifetime("tokenLifetimeMs", options.tokenLifetimeMs),
    };
  }
}

function publicIdentity(record: ManagedIdentityRecord): ManagedIdentity {
  return { clientId: record.clientId, objectId: record.objectId, resourceId: record.resourceId };
}

/** Validates a private_key_jwt client assertion; undefined when it is good. */
function checkAssertion(
  client: ClientRecord,
  assertion: string,
  tokenEndpoint: string,
): EntraError | undefined {
  const parsed = parseJwt(assertion);
  if (parsed === undefined) return entraErrors.malformedAssertion("not a JWT");
  const alg = parsed.header.alg;
  if (alg !== "RS256" && alg !== "PS256") {
    return entraErrors.malformedAssertion(`unsupported algorithm '${String(alg)}'`);
  }
  if (client.certificateKey === undefined || !verifySignature(parsed, client.certificateKey)) {
    return entraErrors.assertionSignature(client.clientId);
  }
  const { aud, iss, sub, exp, nbf } = parsed.claims;
  if (iss !== client.clientId || sub !== client.clientId) {
    return entraErrors.malformedAssertion("'iss' and 'sub' must be the client id");
  }
  if (aud !== tokenEndpoint) return entraErrors.assertionAudience(aud, tokenEndpoint);
  const nowSeconds = Date.now() / 1000;
  if (typeof exp !== "number" || exp + assertionSkewSeconds <= nowSeconds) {
    return entraErrors.assertionExpired();
  }
  if (typeof nbf === "number" && nbf - assertionSkewSeconds > nowSeconds) {
    return entraErrors.assertionExpired();
  }
  return undefined;
}
