import {
  ClientCertificateCredential,
  type ClientCertificateCredentialOptions,
  ClientSecretCredential,
  type ClientSecretCredentialOptions,
  ManagedIdentityCredential,
  type TokenCredentialOptions,
  WorkloadIdentityCredential,
  type WorkloadIdentityCredentialOptions,
} from "@azure/identity";
import {
  assertKnownOptions,
  type CredentialSource,
  InvalidOptionsError,
} from "@redis-credentials/core";
import {
  createEntraIdSource,
  type EntraIdOptions,
  entraIdOptionNames,
  entraIdSuggestions,
} from "./entra-id";
import { type RetryAfterRecorder, retryAfterRecorder } from "./retry-after-recorder";

/** What every convenience constructor passes on to `entraId()`. */
export type EntraIdSourceOptions = Omit<EntraIdOptions, "credential">;

export interface ManagedIdentityOptions extends EntraIdSourceOptions {
  /** A user-assigned identity by its client id. At most one of `clientId`, `objectId`, `resourceId`. */
  clientId?: string;
  /** A user-assigned identity by its object (principal) id. */
  objectId?: string;
  /** A user-assigned identity by its Azure resource id. */
  resourceId?: string;
  /** Passed to `ManagedIdentityCredential` (retry options, ...). */
  credentialOptions?: TokenCredentialOptions;
}

/**
 * A managed identity: the system-assigned one without an id, or a user-assigned one by
 * `clientId`, `objectId` or `resourceId`.
 */
export function entraIdManagedIdentity(options: ManagedIdentityOptions = {}): CredentialSource {
  checkOptions(options, ["clientId", "objectId", "resourceId", "credentialOptions"]);
  const { clientId, objectId, resourceId, credentialOptions, ...rest } = options;
  const given = { clientId, objectId, resourceId };
  const ids = Object.entries(given).filter(([, value]) => value !== undefined);
  if (ids.length > 1) {
    throw new InvalidOptionsError(
      ids.map(([key]) => key).join("/"),
      "give at most one of clientId, objectId and resourceId: they are three ways to name one user-assigned identity.",
    );
  }
  for (const [key, value] of ids) requireString(key, value);
  const [key, value] = ids[0] ?? [];
  const credential =
    key === undefined
      ? new ManagedIdentityCredential(credentialOptions ?? {})
      : new ManagedIdentityCredential({ ...credentialOptions, [key]: value } as never);
  // No Retry-After here: ManagedIdentityCredential replaces `additionalPolicies` with its own
  // (see docs/entra-id.md), and MSAL's error keeps only the status.
  return createEntraIdSource({ ...rest, credential }, undefined);
}

export interface ServicePrincipalOptions extends EntraIdSourceOptions {
  /** The directory (tenant) id. */
  tenantId: string;
  /** The application (client) id. */
  clientId: string;
  /** A client secret. Exactly one of `clientSecret`, `certificate`, `certificatePath`. */
  clientSecret?: string;
  /** A PEM holding the certificate and its private key. */
  certificate?: string;
  /** A PEM file holding the certificate and its private key. */
  certificatePath?: string;
  /** The private key's password, for an encrypted key. */
  certificatePassword?: string;
  /** Passed to `ClientSecretCredential` / `ClientCertificateCredential` (authority host, ...). */
  credentialOptions?: ClientSecretCredentialOptions & ClientCertificateCredentialOptions;
}

/** A service principal (app registration), with a client secret or a certificate. */
export function entraIdServicePrincipal(options: ServicePrincipalOptions): CredentialSource {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError(
      "options",
      "must be an object with tenantId, clientId and a secret or certificate.",
    );
  }
  checkOptions(options, [
    "tenantId",
    "clientId",
    "clientSecret",
    "certificate",
    "certificatePath",
    "certificatePassword",
    "credentialOptions",
  ]);
  const retryAfter = retryAfterRecorder();
  const {
    tenantId,
    clientId,
    clientSecret,
    certificate,
    certificatePath,
    certificatePassword,
    credentialOptions,
    ...rest
  } = options;
  requireString("tenantId", tenantId);
  requireString("clientId", clientId);
  const secrets = { clientSecret, certificate, certificatePath };
  const given = Object.entries(secrets).filter(([, value]) => value !== undefined);
  if (given.length !== 1) {
    throw new InvalidOptionsError(
      given.length === 0 ? "clientSecret" : given.map(([key]) => key).join("/"),
      "give exactly one of clientSecret, certificate (PEM) and certificatePath.",
    );
  }
  for (const [key, value] of given) requireString(key, value);
  const password = certificatePassword !== undefined ? { certificatePassword } : {};
  const withPolicy = recording(credentialOptions, retryAfter);
  const credential =
    clientSecret !== undefined
      ? new ClientSecretCredential(tenantId, clientId, clientSecret, withPolicy)
      : certificate !== undefined
        ? new ClientCertificateCredential(
            tenantId,
            clientId,
            { certificate, ...password },
            withPolicy,
          )
        : new ClientCertificateCredential(
            tenantId,
            clientId,
            { certificatePath: certificatePath as string, ...password },
            withPolicy,
          );
  return createEntraIdSource({ ...rest, credential }, retryAfter);
}

export interface WorkloadIdentityOptions extends EntraIdSourceOptions {
  /** @default process.env.AZURE_TENANT_ID */
  tenantId?: string;
  /** @default process.env.AZURE_CLIENT_ID */
  clientId?: string;
  /** The projected service account token. @default process.env.AZURE_FEDERATED_TOKEN_FILE */
  tokenFilePath?: string;
  /** Passed to `WorkloadIdentityCredential`. */
  credentialOptions?: WorkloadIdentityCredentialOptions;
}

/**
 * AKS workload identity: the pod's service account token exchanged for an Entra ID token. With no
 * options it reads what the workload identity webhook sets (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
 * `AZURE_FEDERATED_TOKEN_FILE`).
 */
export function entraIdWorkloadIdentity(options: WorkloadIdentityOptions = {}): CredentialSource {
  checkOptions(options, ["tenantId", "clientId", "tokenFilePath", "credentialOptions"]);
  const retryAfter = retryAfterRecorder();
  const { tenantId, clientId, tokenFilePath, credentialOptions, ...rest } = options;
  const overrides = { tenantId, clientId, tokenFilePath };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) requireString(key, value);
  }
  const tenantIdValue = tenantId ?? process.env.AZURE_TENANT_ID;
  const clientIdValue = clientId ?? process.env.AZURE_CLIENT_ID;
  const tokenFile = tokenFilePath ?? process.env.AZURE_FEDERATED_TOKEN_FILE;
  const missing = [
    ["tenantId", "AZURE_TENANT_ID", tenantIdValue],
    ["clientId", "AZURE_CLIENT_ID", clientIdValue],
    ["tokenFilePath", "AZURE_FEDERATED_TOKEN_FILE", tokenFile],
  ].filter(([, , value]) => !value);
  if (missing.length > 0) {
    throw new InvalidOptionsError(
      missing.map(([key]) => key).join("/"),
      `not given and ${missing.map(([, env]) => env).join(", ")} not set: enable workload identity on the pod (label azure.workload.identity/use: "true" and a service account annotated with the client id), or pass the values.`,
    );
  }
  const credential = new WorkloadIdentityCredential({
    ...recording(credentialOptions, retryAfter),
    tenantId: tenantIdValue as string,
    clientId: clientIdValue as string,
    tokenFilePath: tokenFile as string,
  });
  return createEntraIdSource({ ...rest, credential }, retryAfter);
}

function requireString(option: string, value: unknown): void {
  if (typeof value !== "string" || value.trim().length === 0) {
    throw new InvalidOptionsError(option, "must be a non-empty string.");
  }
}

/**
 * Rejects keys that are neither the constructor's own nor `entraId()`'s (`credential` excepted:
 * the constructor makes it), naming the key and what was probably meant. The Azure option bags
 * (`credentialOptions`, `getTokenOptions`) are passed on as they are: @azure/identity owns them.
 */
function checkOptions(options: unknown, own: readonly string[]): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError("options", "must be an object when given.");
  }
  const base = entraIdOptionNames.filter((name) => name !== "credential");
  const suggestions = {
    ...entraIdSuggestions,
    credential:
      "this constructor makes the credential from its options: to pass your own, use entraId({ credential }).",
    clientID: "the option is `clientId`.",
  };
  for (const name of own) delete (suggestions as Record<string, string>)[name];
  assertKnownOptions(options, [...own, ...base], suggestions);
  const bag = (options as { credentialOptions?: unknown }).credentialOptions;
  if (bag !== undefined && (typeof bag !== "object" || bag === null)) {
    throw new InvalidOptionsError("credentialOptions", "must be an object when given.");
  }
}

/** The credential's options with the policy that reads `Retry-After` added to the user's. */
function recording<T extends { additionalPolicies?: unknown[] }>(
  credentialOptions: T | undefined,
  retryAfter: RetryAfterRecorder,
): T {
  const policies = credentialOptions?.additionalPolicies ?? [];
  return {
    ...credentialOptions,
    additionalPolicies: [...policies, retryAfter.additionalPolicy],
  } as T;
}
