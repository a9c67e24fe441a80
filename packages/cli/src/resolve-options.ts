import { lookup as dnsLookup } from "node:dns/promises";
import { assertKnownOptions, InvalidOptionsError } from "@redis-credentials/core";
import type { DoctorCredentials, DoctorOptions, HostLookup } from "./doctor-options";

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly ca: string | undefined;
  readonly cluster: boolean;
  readonly timeoutMs: number;
  readonly credentials: DoctorCredentials;
  readonly lookup: HostLookup;
}

export const DEFAULT_PORT = 6379;
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Ten minutes: a step that takes longer is not waiting for a network answer any more. */
export const MAX_TIMEOUT_MS = 600_000;

const optionNames = ["host", "port", "tls", "ca", "cluster", "timeoutMs", "credentials", "lookup"];

const credentialOptionNames: Record<DoctorCredentials["kind"], readonly string[]> = {
  entra: ["kind", "tenantId", "clientId", "clientSecret", "managedIdentity", "credentialOptions"],
  aws: ["kind", "userId", "cacheName", "region", "serverless", "service", "credentials"],
  gcp: ["kind", "auth"],
  static: ["kind", "username", "password", "passwordFrom"],
  source: ["kind", "source"],
};

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true });

/** Checks `runDoctor`'s options; throws `InvalidOptionsError` naming the first wrong one. */
export function resolveOptions(options: DoctorOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "pass { host, credentials, ... }.");
  }
  assertKnownOptions(options, optionNames, {
    hostname: "the option is `host`.",
    timeout: "the option is `timeoutMs` (milliseconds, per step).",
    useTls: "the option is `tls`.",
  });
  const { host, port = DEFAULT_PORT, tls = true, ca, cluster = false } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof host !== "string" || host.trim() === "" || /\s/.test(host)) {
    throw new InvalidOptionsError("host", "must be a host name or IP address, without spaces.");
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidOptionsError("port", "must be an integer from 1 to 65535.");
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new InvalidOptionsError("timeoutMs", `must be an integer from 1 to ${MAX_TIMEOUT_MS}.`);
  }
  requireBoolean("tls", tls);
  requireBoolean("cluster", cluster);
  if (ca !== undefined && (typeof ca !== "string" || !ca.includes("-----BEGIN CERTIFICATE-----"))) {
    throw new InvalidOptionsError("ca", "must be PEM text holding one or more certificates.");
  }
  if (options.lookup !== undefined && typeof options.lookup !== "function") {
    throw new InvalidOptionsError("lookup", "must be a function (hostname) => Promise<addresses>.");
  }
  return {
    host,
    port,
    tls,
    ca,
    cluster,
    timeoutMs,
    credentials: checkCredentials(options.credentials),
    lookup: options.lookup ?? defaultLookup,
  };
}

function checkCredentials(credentials: DoctorCredentials): DoctorCredentials {
  const kinds = Object.keys(credentialOptionNames);
  const kind = (credentials as { kind?: unknown } | undefined)?.kind;
  if (typeof kind !== "string" || !kinds.includes(kind)) {
    throw new InvalidOptionsError("credentials.kind", `must be one of ${kinds.join(", ")}.`);
  }
  const known = credentialOptionNames[kind as DoctorCredentials["kind"]];
  try {
    assertKnownOptions(credentials, known);
  } catch (error) {
    const option = (error as InvalidOptionsError).option;
    throw new InvalidOptionsError(
      `credentials.${option}`,
      `unknown for kind "${kind}": the options are ${known.join(", ")}.`,
    );
  }
  if (credentials.kind === "static") {
    if (typeof credentials.password !== "string" || credentials.password.length === 0) {
      throw new InvalidOptionsError("credentials.password", "must be a non-empty string.");
    }
    if (credentials.username !== undefined && !isText(credentials.username)) {
      throw new InvalidOptionsError("credentials.username", "must be a non-empty string.");
    }
  }
  if (credentials.kind === "source" && typeof credentials.source?.fetch !== "function") {
    throw new InvalidOptionsError(
      "credentials.source",
      "must be a CredentialSource ({ name, fetch }).",
    );
  }
  return credentials;
}

function requireBoolean(name: string, value: unknown): void {
  if (typeof value !== "boolean") throw new InvalidOptionsError(name, "must be true or false.");
}

const isText = (value: unknown): value is string => typeof value === "string" && value.length > 0;
