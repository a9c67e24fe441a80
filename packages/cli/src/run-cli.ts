import { InvalidOptionsError } from "@redis-credentials/core";
import { formatReport, reportJson } from "./format-report";
import { helpText } from "./help-text";
import { type Environment, parseDoctorArgs, secretsNamedBy } from "./parse-args";
import { redactText, secretParts } from "./redact";
import { messageOf } from "./remedies";
import { runDoctor } from "./run-doctor";

/** Where the command line writes, and the environment it reads. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Environment;
}

const PLAINTEXT_WARNING =
  "warning: --no-tls: the token (or password) will cross the network unencrypted. Use it only with a local server; every cloud cache requires TLS for token authentication.\n";

/**
 * `redis-credentials <argv>`, in process: prints the report (or the help, or what is wrong with
 * the flags) and resolves with the exit status: 0 when every step passed, 1 when one failed, 2
 * for wrong flags. Never rejects, never prints a stack trace or a secret.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseDoctorArgs(argv, io.env);
    if (parsed.command === "help") {
      io.stdout.write(helpText);
      return 0;
    }
    const { options, json } = parsed;
    if (options.tls === false) io.stderr.write(PLAINTEXT_WARNING);
    const report = await runDoctor(options);
    const heading = {
      host: options.host,
      port: options.port ?? 6379,
      tls: options.tls !== false,
      cluster: options.cluster === true,
    };
    io.stdout.write(json ? reportJson(report) : formatReport(report, heading));
    return report.ok ? 0 : 1;
  } catch (error) {
    const secrets = secretsNamedBy(argv, io.env).flatMap((value) => secretParts(value));
    if (error instanceof InvalidOptionsError) {
      io.stderr.write(
        `redis-credentials: ${redactText(error.message, secrets)}\nRun \`redis-credentials doctor --help\` for every flag.\n`,
      );
      return 2;
    }
    io.stderr.write(
      `redis-credentials: unexpected error: ${redactText(messageOf(error), secrets)}\n`,
    );
    return 1;
  }
}
