import type { RemedyContext } from "./remedies";
import { StepTimeoutError } from "./step-errors";

/*
 * What to do when the credential gets no token (the credentials step), or when Redis refuses the
 * one it got (WRONGPASS at the auth step): by cloud, in the words of its console and CLI.
 */

const entraRemedies: Record<string, string> = {
  invalid_client:
    "Entra ID refused the client secret: check that --client-secret-env names a variable holding a current secret of the app --client-id (Azure portal: App registrations → the app → Certificates & secrets).",
  unauthorized_client:
    "The application --client-id is not known in tenant --tenant-id (AADSTS700016): check both ids (az ad sp show --id <client-id>).",
  invalid_request:
    "Entra ID refused the request: check --tenant-id (AADSTS90002: no such tenant) and --client-id.",
  invalid_scope:
    "The Redis scope https://redis.azure.com/.default was refused: check that the tenant is a public Azure one (sovereign clouds: set AZURE_AUTHORITY_HOST).",
  identity_not_found:
    "No managed identity with that client id is assigned to this Azure resource: assign it (portal: the resource → Identity → User assigned), or pass the right client id to --managed-identity.",
  credential_unavailable:
    "No Azure credential is available here: on a developer machine run `az login`; on Azure, enable a managed identity for the resource and pass --managed-identity; elsewhere pass --tenant-id, --client-id and --client-secret-env VAR (or set AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET).",
};

const awsRemedies: Record<string, string> = {
  CredentialsNotFound:
    "The AWS default credential chain found no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (after `aws sso login` or `aws configure`), or run where a role is attached (EC2 instance profile, ECS task role, EKS pod identity or IRSA).",
  ProfileNotFound:
    "AWS_PROFILE names a profile that is not in ~/.aws/config or ~/.aws/credentials: fix the name (aws configure list-profiles).",
  TokenFileUnreadable:
    "AWS_WEB_IDENTITY_TOKEN_FILE cannot be read: check the pod's service account token projection (IRSA).",
  CredentialsExpired:
    "The AWS credentials have expired: refresh them (aws sso login), or check this machine's clock.",
};

const gcpRemedies: Record<string, string> = {
  CredentialsNotFound:
    "Application Default Credentials found nothing: run `gcloud auth application-default login` on a developer machine, set GOOGLE_APPLICATION_CREDENTIALS to a key or workload identity federation file, or run where a service account is attached (Compute Engine, GKE, Cloud Run).",
  invalid_grant:
    "Google refused the credentials: a deleted key, a revoked or expired login (run `gcloud auth application-default login` again), or a clock minutes off.",
  PERMISSION_DENIED:
    "The principal may not get this token: for impersonation, grant roles/iam.serviceAccountTokenCreator; on a VM, give it the cloud-platform access scope.",
};

/** The credentials step's remedy: by cloud and by the source's error code. */
export function credentialsRemedy(error: unknown, context: RemedyContext): string {
  const code = String((error as { code?: unknown } | null)?.code ?? "");
  if (error instanceof StepTimeoutError) return timeoutRemedy(context);
  const byKind: Partial<Record<RemedyContext["kind"], Record<string, string>>> = {
    entra: entraRemedies,
    aws: awsRemedies,
    gcp: gcpRemedies,
  };
  const specific = byKind[context.kind]?.[code];
  if (specific !== undefined) return specific;
  const fallback: Record<RemedyContext["kind"], string> = {
    entra:
      "The credential got no token from Entra ID: the detail names the cause. Check the tenant, client id and secret, or the managed identity, and that this machine reaches login.microsoftonline.com.",
    aws: "The AWS credential chain gave no credentials to sign with: the detail names the cause (aws sts get-caller-identity shows which identity the chain finds).",
    gcp: "google-auth-library gave no access token: the detail names the cause (gcloud auth application-default print-access-token shows whether Application Default Credentials work here).",
    static: "Set the variable --password-env names to the password.",
    source: "The credential source failed: its error, in the detail, names the cause.",
  };
  return fallback[context.kind];
}

function timeoutRemedy(context: RemedyContext): string {
  const what: Record<RemedyContext["kind"], string> = {
    entra:
      "Microsoft Entra ID (login.microsoftonline.com over HTTPS) did not answer; a managed identity's endpoint (169.254.169.254) hangs like this off Azure",
    aws: "the AWS credential providers (STS, SSO, the instance metadata service) did not answer",
    gcp: "Google's token endpoint (or the metadata server, off Google Cloud) did not answer",
    static: "the static credentials did not resolve",
    source: "the credential source did not answer",
  };
  return `No token within ${context.timeoutMs} ms: ${what[context.kind]}. Check outbound HTTPS from this machine (HTTPS_PROXY), and raise --timeout-ms if a developer tool is just slow.`;
}

/** WRONGPASS at AUTH: Redis does not accept this identity, with the cloud's way to fix that. */
export function wrongPassRemedy(context: RemedyContext): string {
  const user = context.username ?? "(unknown)";
  switch (context.kind) {
    case "entra":
      return `Redis refused the token of object id ${user}: this identity is not a Redis user of the cache (or was removed). Add it with that object id as user: Azure Managed Redis: portal → the cache → Authentication → Microsoft Entra Authentication → Select member; Azure Cache for Redis: portal → Data Access Configuration → Add → New Redis User, or \`az redis access-policy-assignment create --name <cache> --resource-group <group> --access-policy-name "Data Owner" --access-policy-assignment-name <name> --object-id ${user} --object-id-alias <alias>\`, with Microsoft Entra authentication enabled on the cache. For an app registration, the object id that counts is its service principal's (Enterprise applications), which is the token's object id shown in the credentials step.`;
    case "aws":
      return `ElastiCache (or MemoryDB) refused the IAM token of user ${user}. Check that --user-id is the IAM-enabled user's id and its user name equals it; that the user is in the user group of the cache (MemoryDB: in its ACL); that --cache-name is the replication group id, serverless cache name or MemoryDB cluster name, not an endpoint; that --region is the cache's region; --serverless for a Serverless cache, --memorydb for MemoryDB; that the identity in the credentials step is allowed elasticache:Connect (memorydb:Connect) on both the cache's and the user's ARN; and that this machine's clock is right (the token is signed with the time).`;
    case "gcp":
      return "Memorystore refused the access token: grant the principal shown in the credentials step roles/memorystore.dbConnectionUser (Memorystore for Redis Cluster: roles/redis.dbConnectionUser) on the instance's project, check that the instance has IAM authentication enabled, and that the user is `default`.";
    case "static":
      return `Redis refused user ${user} with the password from --password-env: the user does not exist, is disabled, or the password is wrong (ACL LIST on the server shows its users).`;
    case "source":
      return `Redis refused user ${user} with the token from the credential source: check that this identity is a user of this server and that the token is for this server.`;
  }
}
