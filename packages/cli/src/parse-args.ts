import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { InvalidOptionsError, likelyMeant } from "@redis-credentials/core";
import { doctorFlags, flagSuggestions, optionalValue } from "./cli-flags";
import { credentialsFromFlags, type FlagValues } from "./credentials-from-flags";
import type { DoctorOptions } from "./doctor-options";
import { DEFAULT_PORT, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS } from "./resolve-options";

/** What the command line asks for: the help text, or a doctor run. */
export type ParsedArgs =
  | { readonly command: "help" }
  | {
      readonly command: "doctor";
      readonly options: DoctorOptions;
      /** Print the report as JSON. */
      readonly json: boolean;
    };

/** The environment the flags read variables from (`--password-env VAR`). */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads `redis-credentials doctor [flags]` (argv without the node executable and script).
 * Throws `InvalidOptionsError` naming the flag that is wrong and what to pass instead; never
 * echoes the value of a flag that could be a secret.
 */
export function parseDoctorArgs(argv: readonly string[], env: Environment): ParsedArgs {
  const args = withOptionalValues(argv);
  rejectUnknownFlags(args);
  const { values, positionals } = parseStrictly(args);
  if (values.help) return { command: "help" };
  checkPositionals(positionals);
  return { command: "doctor", options: optionsFrom(values, env), json: values.json === true };
}

/** `--managed-identity` followed by nothing or another flag: the system-assigned identity. */
function withOptionalValues(argv: readonly string[]): string[] {
  return argv.map((arg, index) => {
    const next = argv[index + 1];
    const flag = optionalValue.find((name) => arg === `--${name}`);
    return flag !== undefined && (next === undefined || next.startsWith("-")) ? `${arg}=` : arg;
  });
}

/** Unknown flags first, with a suggestion: parseArgs's own message would only say "unknown". */
function rejectUnknownFlags(args: string[]): void {
  const { tokens } = parseArgs({
    args,
    options: doctorFlags,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const known = Object.keys(doctorFlags);
  for (const token of tokens) {
    if (token.kind === "option-terminator") return;
    if (token.kind !== "option" || known.includes(token.name)) continue;
    const name = token.name;
    const hint = flagSuggestions[name] ?? likelyMeant({ [name]: true }, known)[name];
    throw new InvalidOptionsError(
      token.rawName,
      `unknown flag${hint ? `: ${hint.replace(/`([a-z-]+)`/g, "--$1")}` : "."}`,
    );
  }
}

function parseStrictly(args: string[]) {
  try {
    return parseArgs({ args, options: doctorFlags, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-[^' <]+)/.exec(message)?.[1] ?? "arguments";
    const problem = /does not take an argument/.test(message)
      ? "takes no value: give the flag alone."
      : `needs a value: ${flag} <value> (a value starting with "-" goes as ${flag}=<value>).`;
    throw new InvalidOptionsError(flag, problem);
  }
}

function checkPositionals(positionals: string[]): void {
  if (positionals[0] !== "doctor") {
    throw new InvalidOptionsError(
      "command",
      positionals.length === 0
        ? "name the command: `redis-credentials doctor --host <host> ...` (`redis-credentials doctor --help` lists the flags)."
        : "the only command is `doctor`: `redis-credentials doctor --host <host> ...`.",
    );
  }
  if (positionals.length > 1) {
    // Not echoed: a stray value may be a secret typed after a flag that takes none.
    throw new InvalidOptionsError(
      "arguments",
      `unexpected argument after \`doctor\` (${positionals.length - 1} of them): every value goes with its flag, e.g. --port 6380; a flag such as --tls takes none.`,
    );
  }
}

function optionsFrom(values: FlagValues, env: Environment): DoctorOptions {
  const host = values.host;
  if (host === undefined || host.trim() === "") {
    throw new InvalidOptionsError(
      "--host",
      "is required: the Redis host name or IP address, e.g. --host my-cache.westeurope.redis.azure.net.",
    );
  }
  if (values.tls && values["no-tls"]) {
    throw new InvalidOptionsError(
      "--tls/--no-tls",
      "give one of them: TLS is the default, --no-tls turns it off.",
    );
  }
  return {
    host,
    port: integerFlag("--port", values.port, DEFAULT_PORT, 65_535, "--port 6380"),
    tls: values["no-tls"] !== true,
    ...(values.ca !== undefined && { ca: readCa(values.ca) }),
    cluster: values.cluster === true,
    timeoutMs: integerFlag(
      "--timeout-ms",
      values["timeout-ms"],
      DEFAULT_TIMEOUT_MS,
      MAX_TIMEOUT_MS,
      "--timeout-ms 5000",
    ),
    credentials: credentialsFromFlags(values, env),
  };
}

function integerFlag(
  flag: string,
  value: string | undefined,
  fallback: number,
  max: number,
  example: string,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1 || number > max) {
    throw new InvalidOptionsError(
      flag,
      `must be a whole number from 1 to ${max}, e.g. ${example}.`,
    );
  }
  return number;
}

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new InvalidOptionsError(
      "--ca",
      `cannot read ${file} (${code}): give the path of a PEM file with the CA certificate.`,
    );
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new InvalidOptionsError(
      "--ca",
      `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA certificate in PEM.`,
    );
  }
  return pem;
}

/** The secrets the flags point at (`--password-env VAR`, `--client-secret-env VAR`): never shown. */
export function secretsNamedBy(argv: readonly string[], env: Environment): string[] {
  const secrets: string[] = [];
  argv.forEach((arg, index) => {
    for (const flag of ["--password-env", "--client-secret-env"]) {
      const name =
        arg === flag
          ? argv[index + 1]
          : arg.startsWith(`${flag}=`)
            ? arg.slice(flag.length + 1)
            : undefined;
      const value = name === undefined ? undefined : env[name];
      if (value !== undefined && value !== "") secrets.push(value);
    }
  });
  return secrets;
}
