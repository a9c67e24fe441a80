import { DefaultAzureCredential } from "@azure/identity";
import { awsIam } from "@redis-credentials/aws-iam";
import {
  type CredentialSource,
  createCredentials,
  InvalidOptionsError,
  untilAborted,
} from "@redis-credentials/core";
import {
  entraId,
  entraIdManagedIdentity,
  entraIdServicePrincipal,
  REDIS_SCOPE,
} from "@redis-credentials/entra-id";
import { CLOUD_PLATFORM_SCOPE, gcpIam } from "@redis-credentials/gcp-iam";
import { GoogleAuth } from "google-auth-library";
import type {
  DoctorAwsCredentials,
  DoctorCredentials,
  DoctorEntraCredentials,
  DoctorGcpCredentials,
} from "./doctor-options";

/** A credential source, and who it gets tokens as, in words for the report. */
export interface PreparedSource {
  readonly source: CredentialSource;
  /** Which identity, tenant, scope: known before any token is asked for. */
  readonly identity: string;
  /** What only a fetch reveals (the principal behind Application Default Credentials). */
  readonly principal?: (signal: AbortSignal) => Promise<string | undefined>;
}

/**
 * The source `credentials` describe. Throws `InvalidOptionsError` for options that cannot work
 * (the sources check theirs the same way), before any step runs.
 */
export function prepareSource(credentials: DoctorCredentials): PreparedSource {
  switch (credentials.kind) {
    case "entra":
      return entraSource(credentials);
    case "aws":
      return awsSource(credentials);
    case "gcp":
      return gcpSource(credentials);
    case "static": {
      const { username = "default", password } = credentials;
      return {
        source: {
          name: "static",
          fetch: async () => createCredentials({ username, password, expiresAt: Infinity }),
        },
        identity: `static credentials: user ${username}, password from ${credentials.passwordFrom ?? "the options"}`,
      };
    }
    case "source":
      return {
        source: credentials.source,
        identity: `credential source "${credentials.source.name}"`,
      };
  }
}

function entraSource(options: DoctorEntraCredentials): PreparedSource {
  const { tenantId, clientId, clientSecret, managedIdentity, credentialOptions = {} } = options;
  const scope = `scope ${REDIS_SCOPE}`;
  if (clientSecret !== undefined) {
    if (managedIdentity !== undefined && managedIdentity !== false) {
      throw new InvalidOptionsError(
        "credentials.managedIdentity",
        "a managed identity has no client secret: pass one or the other.",
      );
    }
    if (tenantId === undefined || clientId === undefined) {
      throw new InvalidOptionsError(
        tenantId === undefined ? "credentials.tenantId" : "credentials.clientId",
        "a service principal needs tenantId, clientId and clientSecret.",
      );
    }
    return {
      source: entraIdServicePrincipal({ tenantId, clientId, clientSecret, credentialOptions }),
      identity: `Entra ID service principal (client secret): tenant ${tenantId}, client ${clientId}; ${scope}`,
    };
  }
  if (managedIdentity !== undefined && managedIdentity !== false) {
    const userAssigned = typeof managedIdentity === "string" ? managedIdentity : clientId;
    return {
      source: entraIdManagedIdentity({
        ...(userAssigned !== undefined && { clientId: userAssigned }),
        credentialOptions,
      }),
      identity: `Entra ID managed identity (${userAssigned === undefined ? "system-assigned" : `user-assigned, client ${userAssigned}`}); ${scope}`,
    };
  }
  if (clientId !== undefined) {
    throw new InvalidOptionsError(
      "credentials.clientId",
      "with a client id, pass clientSecret (a service principal) or managedIdentity (a user-assigned identity).",
    );
  }
  const credential = new DefaultAzureCredential({
    ...credentialOptions,
    ...(tenantId !== undefined && { tenantId }),
  });
  return {
    source: entraId({ credential }),
    identity: `Entra ID DefaultAzureCredential${tenantId === undefined ? "" : ` (tenant ${tenantId})`}; ${scope}`,
  };
}

function awsSource(options: DoctorAwsCredentials): PreparedSource {
  const { userId, cacheName, region, serverless, service = "elasticache", credentials } = options;
  const source = awsIam({
    userId,
    cacheName,
    ...(region !== undefined && { region }),
    ...(serverless !== undefined && { serverless }),
    service,
    ...(credentials !== undefined && { credentials }),
  });
  const where = region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const from =
    credentials === undefined ? "the AWS default credential chain" : "the credentials given";
  return {
    source,
    identity: `AWS IAM: user ${userId} of ${service}${serverless ? " serverless" : ""} cache ${cacheName} in ${where}, signed with credentials from ${from}`,
  };
}

function gcpSource(options: DoctorGcpCredentials): PreparedSource {
  const auth = options.auth ?? new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
  const principal = async (signal: AbortSignal) => {
    // GoogleAuth knows the service account's email (the metadata server's, a key's); a client
    // passed in may not say.
    if (!(auth instanceof GoogleAuth)) return undefined;
    const body = await untilAborted(auth.getCredentials(), signal);
    return typeof body.client_email === "string"
      ? `service account ${body.client_email}`
      : undefined;
  };
  return {
    source: gcpIam({ auth }),
    identity: `Google ${options.auth === undefined ? "Application Default Credentials" : "credentials given"}; scope ${CLOUD_PLATFORM_SCOPE}`,
    principal,
  };
}
