import { InvalidOptionsError } from "@redis-credentials/core";
import type { DoctorFlag, doctorFlags } from "./cli-flags";
import type { DoctorCredentials } from "./doctor-options";
import type { Environment } from "./parse-args";

/** What parseArgs read: booleans for the switches, strings for the rest. */
export type FlagValues = {
  readonly [K in DoctorFlag]?: (typeof doctorFlags)[K]["type"] extends "boolean" ? boolean : string;
};

const families = {
  "--entra": ["tenant-id", "client-id", "client-secret-env", "managed-identity"],
  "--aws": ["user-id", "cache-name", "region", "serverless", "memorydb"],
  "--gcp": [],
  "--username/--password-env": [],
} as const satisfies Record<string, readonly DoctorFlag[]>;

type Family = keyof typeof families;

/** The credential the flags choose: exactly one of --entra, --aws, --gcp, or a static user. */
export function credentialsFromFlags(values: FlagValues, env: Environment): DoctorCredentials {
  const chosen: Family[] = [];
  if (values.entra) chosen.push("--entra");
  if (values.aws) chosen.push("--aws");
  if (values.gcp) chosen.push("--gcp");
  if (values.username !== undefined || values["password-env"] !== undefined) {
    chosen.push("--username/--password-env");
  }
  if (chosen.length !== 1) {
    throw new InvalidOptionsError(
      chosen.length === 0 ? "--entra/--aws/--gcp/--password-env" : chosen.join(" and "),
      `choose ${chosen.length === 0 ? "where the token comes from" : "one credential"}: --entra (Microsoft Entra ID), --aws (ElastiCache or MemoryDB IAM), --gcp (Memorystore IAM), or --username with --password-env VAR (a static user and password).`,
    );
  }
  const family = chosen[0] as Family;
  for (const [owner, flags] of Object.entries(families)) {
    const stray = owner === family ? undefined : flags.find((flag) => values[flag] !== undefined);
    if (stray !== undefined) {
      throw new InvalidOptionsError(`--${stray}`, `goes with ${owner}, not with ${family}.`);
    }
  }
  if (family === "--entra") return entraFromFlags(values, env);
  if (family === "--aws") return awsFromFlags(values, env);
  if (family === "--gcp") return { kind: "gcp" };
  if (values["password-env"] === undefined) {
    throw new InvalidOptionsError(
      "--password-env",
      "is required with --username: the name of the environment variable that holds the password, e.g. --password-env REDIS_PASSWORD.",
    );
  }
  return {
    kind: "static",
    username: values.username ?? "default",
    ...secretFromEnv("--password-env", values["password-env"], env, "password"),
  };
}

function entraFromFlags(values: FlagValues, env: Environment): DoctorCredentials {
  const managed = values["managed-identity"];
  const secretVariable = values["client-secret-env"];
  const tenantId = values["tenant-id"];
  const clientId = values["client-id"];
  // Undocumented: AZURE_AUTHORITY_HOST, which @azure/identity honours, points the credential at
  // another authority (the local identity emulator in tests), which MSAL must not look up.
  const authorityHost = env.AZURE_AUTHORITY_HOST;
  const credentialOptions =
    authorityHost !== undefined && authorityHost !== ""
      ? { credentialOptions: { authorityHost, disableInstanceDiscovery: true } }
      : {};
  if (managed !== undefined) {
    if (secretVariable !== undefined || tenantId !== undefined) {
      throw new InvalidOptionsError(
        secretVariable !== undefined ? "--client-secret-env" : "--tenant-id",
        "is not for a managed identity: give --managed-identity [client-id] alone, or a service principal's --tenant-id, --client-id and --client-secret-env.",
      );
    }
    if (managed !== "" && clientId !== undefined && clientId !== managed) {
      throw new InvalidOptionsError(
        "--client-id",
        "differs from the client id given to --managed-identity: give it once.",
      );
    }
    const id = managed !== "" ? managed : clientId;
    return { kind: "entra", managedIdentity: id ?? true, ...credentialOptions };
  }
  if (secretVariable !== undefined) {
    if (tenantId === undefined || clientId === undefined) {
      throw new InvalidOptionsError(
        tenantId === undefined ? "--tenant-id" : "--client-id",
        "is required with --client-secret-env: a service principal is --tenant-id, --client-id and --client-secret-env VAR.",
      );
    }
    const { password } = secretFromEnv("--client-secret-env", secretVariable, env, "client secret");
    return { kind: "entra", tenantId, clientId, clientSecret: password, ...credentialOptions };
  }
  if (clientId !== undefined) {
    throw new InvalidOptionsError(
      "--client-id",
      "needs --client-secret-env VAR (a service principal) or --managed-identity (a user-assigned identity); DefaultAzureCredential reads AZURE_CLIENT_ID itself.",
    );
  }
  return { kind: "entra", ...(tenantId !== undefined && { tenantId }), ...credentialOptions };
}

function awsFromFlags(values: FlagValues, env: Environment): DoctorCredentials {
  const userId = values["user-id"];
  const cacheName = values["cache-name"];
  if (userId === undefined || cacheName === undefined) {
    throw new InvalidOptionsError(
      userId === undefined ? "--user-id" : "--cache-name",
      "is required with --aws: --user-id <IAM-enabled user id> --cache-name <replication group id, serverless cache or MemoryDB cluster name>.",
    );
  }
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === "") {
    throw new InvalidOptionsError(
      "--region",
      "is required with --aws unless AWS_REGION is set: the cache's region, e.g. --region us-east-1.",
    );
  }
  if (values.serverless && values.memorydb) {
    throw new InvalidOptionsError(
      "--serverless",
      "is for ElastiCache Serverless, not MemoryDB: give one of --serverless and --memorydb.",
    );
  }
  return {
    kind: "aws",
    userId,
    cacheName,
    region,
    serverless: values.serverless === true,
    service: values.memorydb ? "memorydb" : "elasticache",
  };
}

/**
 * The secret in the environment variable a flag names. The name is echoed in an error only when
 * it looks like one (A_NAME_LIKE_THIS): anything else may be the secret itself, typed by mistake.
 */
function secretFromEnv(
  flag: string,
  variable: string | undefined,
  env: Environment,
  what: string,
): { password: string; passwordFrom: string } {
  if (variable === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
    throw new InvalidOptionsError(
      flag,
      `takes the name of an environment variable that holds the ${what} (e.g. ${flag} REDIS_PASSWORD), not the ${what} itself.`,
    );
  }
  const value = env[variable];
  if (value === undefined || value === "") {
    const name = /^[A-Z_][A-Z0-9_]*$/.test(variable) ? `$${variable}` : "the variable it names";
    throw new InvalidOptionsError(
      flag,
      `${name} is not set, or empty: export it with the ${what} first.`,
    );
  }
  return { password: value, passwordFrom: `$${variable}` };
}
