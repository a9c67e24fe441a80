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
import { type CredentialSource, InvalidOptionsError } from "@redis-credentials/core";
import { type EntraIdOptions, entraId } from "./entra-id";

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
  return entraId({ ...rest, credential });
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
  const credential =
    clientSecret !== undefined
      ? new ClientSecretCredential(tenantId, clientId, clientSecret, credentialOptions)
      : certificate !== undefined
        ? new ClientCertificateCredential(
            tenantId,
            clientId,
            { certificate, ...password },
            credentialOptions,
          )
        : new ClientCertificateCredential(
            tenantId,
            clientId,
            { certificatePath: certificatePath as string, ...password },
            credentialOptions,
          );
  return entraId({ ...rest, credential });
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
    ...credentialOptions,
    tenantId: tenantIdValue as string,
    clientId: clientIdValue as string,
    tokenFilePath: tokenFile as string,
  });
  return entraId({ ...rest, credential });
}

function requireString(option: string, value: unknown): void {
  if (typeof value !== "string" || value.trim().length === 0) {
    throw new InvalidOptionsError(option, "must be a non-empty string.");
  }
}
