import { runCli, runDoctor } from "@redis-credentials/cli";
import { InvalidOptionsError } from "@redis-credentials/core";
import { type BadInputRow, SECRET } from "./bad-input-row";

/**
 * What `redis-credentials` did with a bad command line, when it did what it must: exit 2, nothing
 * on stdout, the problem on stderr and no stack trace. Anything else is thrown as a plain Error
 * saying what happened, which fails the row.
 */
export class CliUsageExit extends Error {
  override name = "CliUsageExit";
}

/** Runs `redis-credentials <argv>` in process (the binary is a thin wrapper around runCli). */
async function usage(argv: string[], env: Record<string, string> = {}): Promise<never> {
  let stdout = "";
  let stderr = "";
  const status = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
  });
  if (status === 2 && stdout === "" && stderr !== "" && !/\n\s+at /.test(stderr)) {
    throw new CliUsageExit(stderr);
  }
  throw new Error(`exit ${status}; stdout: ${stdout}; stderr: ${stderr}`);
}

const host = ["doctor", "--host", "cache.example.com"];

/** One bad command line: it must exit 2 with a message naming `message`. */
function flagRow(
  input: string,
  argv: string[],
  message: string,
  env?: Record<string, string>,
): BadInputRow {
  return {
    entry: "cli.redis-credentials",
    input,
    run: () => usage(argv, env),
    error: CliUsageExit,
    message,
  };
}

/** One bad option of the library's `runDoctor`: an InvalidOptionsError naming it, before any step. */
function optionRow(input: string, options: unknown, message: string): BadInputRow {
  return {
    entry: "cli.runDoctor",
    input,
    run: () => runDoctor(options as never),
    error: InvalidOptionsError,
    message,
  };
}

const staticUser = { kind: "static", password: SECRET } as const;

export function cliRows(): BadInputRow[] {
  return [
    flagRow("no command", [], "name the command"),
    flagRow("another command", ["check", "--host", "h", "--gcp"], "the only command is `doctor`"),
    flagRow("no --host", ["doctor", "--gcp"], "`--host`"),
    flagRow("--host without a value", ["doctor", "--gcp", "--host"], "`--host`"),
    flagRow(
      "unknown flag --hots (typo of --host)",
      ["doctor", "--hots", "h", "--gcp"],
      "did you mean --host?",
    ),
    flagRow(
      "--password with the secret on the command line",
      [...host, "--username", "u", "--password", SECRET],
      "--password-env VAR",
    ),
    flagRow(
      "--password=<secret>",
      [...host, "--username", "u", `--password=${SECRET}`],
      "`--password`",
    ),
    flagRow(
      "--client-secret with the secret",
      [...host, "--entra", "--client-secret", SECRET],
      "--client-secret-env VAR",
    ),
    flagRow("a stray value (the secret)", [...host, "--gcp", SECRET], "unexpected argument"),
    flagRow("--port not a number", [...host, "--gcp", "--port", "redis"], "`--port`"),
    flagRow("--port 0", [...host, "--gcp", "--port", "0"], "`--port`"),
    flagRow("--port 65536", [...host, "--gcp", "--port", "65536"], "`--port`"),
    flagRow("--timeout-ms NaN", [...host, "--gcp", "--timeout-ms", "NaN"], "`--timeout-ms`"),
    flagRow(
      "--timeout-ms Infinity",
      [...host, "--gcp", "--timeout-ms", "Infinity"],
      "`--timeout-ms`",
    ),
    flagRow("--tls=false", [...host, "--gcp", "--tls=false"], "`--tls`"),
    flagRow("--tls with --no-tls", [...host, "--gcp", "--tls", "--no-tls"], "`--tls/--no-tls`"),
    flagRow("--ca of a missing file", [...host, "--gcp", "--ca", "/nonexistent/ca.pem"], "`--ca`"),
    flagRow("no credential", host, "choose where the token comes from"),
    flagRow("two credentials", [...host, "--entra", "--aws"], "choose one credential"),
    flagRow("--user-id without --aws", [...host, "--gcp", "--user-id", "u"], "goes with --aws"),
    flagRow(
      "--aws without --cache-name",
      [...host, "--aws", "--user-id", "u", "--region", "r"],
      "`--cache-name`",
    ),
    flagRow(
      "--aws without a region",
      [...host, "--aws", "--user-id", "u", "--cache-name", "c"],
      "`--region`",
    ),
    flagRow(
      "--serverless with --memorydb",
      [
        ...host,
        "--aws",
        "--user-id",
        "u",
        "--cache-name",
        "c",
        "--region",
        "r",
        "--serverless",
        "--memorydb",
      ],
      "`--serverless`",
    ),
    flagRow("--client-id alone", [...host, "--entra", "--client-id", "c"], "`--client-id`"),
    flagRow(
      "--client-secret-env without --tenant-id",
      [...host, "--entra", "--client-id", "c", "--client-secret-env", "S"],
      "`--tenant-id`",
      { S: SECRET },
    ),
    flagRow("--username without --password-env", [...host, "--username", "u"], "`--password-env`"),
    flagRow(
      "--password-env naming an unset variable",
      [...host, "--password-env", "UNSET_DOCTOR_VARIABLE"],
      "$UNSET_DOCTOR_VARIABLE is not set",
    ),
    flagRow(
      "--password-env given the secret itself",
      [...host, "--password-env", SECRET],
      "the name of an environment variable",
    ),
    optionRow("options a string", "cache.example.com", "`options`"),
    optionRow("host empty", { host: "", credentials: staticUser }, "`host`"),
    optionRow("port NaN", { host: "h", port: Number.NaN, credentials: staticUser }, "`port`"),
    optionRow(
      "timeoutMs Infinity",
      { host: "h", timeoutMs: Number.POSITIVE_INFINITY, credentials: staticUser },
      "`timeoutMs`",
    ),
    optionRow("tls a string", { host: "h", tls: "yes", credentials: staticUser }, "`tls`"),
    optionRow("ca not PEM", { host: "h", ca: SECRET, credentials: staticUser }, "`ca`"),
    optionRow(
      "unknown key timeout",
      { host: "h", timeout: 5, credentials: staticUser },
      "`timeout`",
    ),
    optionRow("credentials missing", { host: "h" }, "`credentials.kind`"),
    optionRow(
      "credentials of an unknown kind",
      { host: "h", credentials: { kind: "azure" } },
      "`credentials.kind`",
    ),
    optionRow(
      "static password empty",
      { host: "h", credentials: { kind: "static", password: "" } },
      "`credentials.password`",
    ),
    optionRow(
      "unknown credential key",
      { host: "h", credentials: { ...staticUser, token: SECRET } },
      "`credentials.token`",
    ),
    optionRow(
      "Entra secret without a tenant",
      { host: "h", credentials: { kind: "entra", clientId: "c", clientSecret: SECRET } },
      "`credentials.tenantId`",
    ),
    optionRow(
      "AWS without a cache name",
      { host: "h", credentials: { kind: "aws", userId: "u", region: "r" } },
      "cacheName",
    ),
  ];
}
