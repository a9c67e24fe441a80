/** The flags of `redis-credentials doctor`, for `node:util`'s `parseArgs`. */
export const doctorFlags = {
  help: { type: "boolean", short: "h" },
  host: { type: "string" },
  port: { type: "string" },
  tls: { type: "boolean" },
  "no-tls": { type: "boolean" },
  ca: { type: "string" },
  cluster: { type: "boolean" },
  json: { type: "boolean" },
  "timeout-ms": { type: "string" },
  entra: { type: "boolean" },
  "tenant-id": { type: "string" },
  "client-id": { type: "string" },
  "client-secret-env": { type: "string" },
  // Its value (a user-assigned identity's client id) is optional: see `optionalValue`.
  "managed-identity": { type: "string" },
  aws: { type: "boolean" },
  "user-id": { type: "string" },
  "cache-name": { type: "string" },
  region: { type: "string" },
  serverless: { type: "boolean" },
  memorydb: { type: "boolean" },
  gcp: { type: "boolean" },
  username: { type: "string" },
  "password-env": { type: "string" },
} as const;

export type DoctorFlag = keyof typeof doctorFlags;

/** Flags whose value may be left out: `--managed-identity` alone is the system-assigned identity. */
export const optionalValue: readonly DoctorFlag[] = ["managed-identity"];

const secretOnCommandLine =
  "secrets never go on the command line (shell history and `ps` would show them): put it in an environment variable and pass its name";

/** Flags people reach for, and what to pass instead. */
export const flagSuggestions: Readonly<Record<string, string>> = {
  password: `${secretOnCommandLine}: --password-env VAR.`,
  pass: `${secretOnCommandLine}: --password-env VAR.`,
  token: `${secretOnCommandLine}: --password-env VAR (with --username).`,
  "client-secret": `${secretOnCommandLine}: --client-secret-env VAR.`,
  secret: `${secretOnCommandLine}: --client-secret-env VAR (Entra ID) or --password-env VAR.`,
  insecure:
    "the doctor always verifies the server's certificate: pass --ca FILE to trust a private CA.",
  "skip-verify":
    "the doctor always verifies the server's certificate: pass --ca FILE to trust a private CA.",
  "no-verify":
    "the doctor always verifies the server's certificate: pass --ca FILE to trust a private CA.",
  user: "use --username (with --password-env) for a static user, or --user-id with --aws.",
  hostname: "the flag is --host.",
  timeout: "the flag is --timeout-ms (milliseconds, per step).",
  tenant: "the flag is --tenant-id.",
  "managed-identity-client-id": "pass the client id as --managed-identity <client-id>.",
  "cluster-name": "the flag is --cache-name (with --aws).",
  "replication-group-id": "the flag is --cache-name (with --aws).",
  service: "--memorydb for MemoryDB; ElastiCache is the default.",
  azure: "the flag is --entra (Microsoft Entra ID).",
  entraid: "the flag is --entra.",
  google: "the flag is --gcp.",
  cacert: "the flag is --ca FILE.",
  cafile: "the flag is --ca FILE.",
};
