import { prepareSource } from "./credential-source";
import { type ObtainedCredentials, obtainCredentials } from "./credentials-step";
import type { DoctorOptions } from "./doctor-options";
import type { DoctorReport } from "./doctor-report";
import { serverNameFor } from "./network-steps";
import { checkNodes, NODES_TIMEOUTS } from "./nodes-step";
import { redactReport, secretParts } from "./redact";
import type { RemedyContext } from "./remedies";
import { type ResolvedOptions, resolveOptions } from "./resolve-options";
import { ServerProbe } from "./server-probe";
import { StepRunner } from "./step-runner";

/**
 * Checks, step by step, whether a token-authenticated Redis connection works, and why not: the
 * credential gets a token (`credentials`), the host resolves (`dns`), the port answers (`tcp`),
 * the TLS handshake and the server's certificate (`tls`), `AUTH` (`auth`), `ACL WHOAMI`
 * (`whoami`), a PING and a write/read round trip (`roundtrip`), and with `cluster`, every node
 * (`nodes`). Each step is limited to `timeoutMs`; a step that needs one that failed is reported
 * as skipped. Never rejects for a failed check (the report says it), only for wrong options
 * (`InvalidOptionsError`). The report holds no token or password.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const config = resolveOptions(options);
  const prepared = prepareSource(config.credentials);
  let credentials: ObtainedCredentials | undefined;
  const runner = new StepRunner(config.timeoutMs, () => remedyContext(config, credentials));
  const settings = {
    tls: config.tls,
    ca: config.ca,
    lookup: config.lookup,
    cluster: config.cluster,
    anyUser: config.credentials.kind === "gcp",
  };
  const probe = new ServerProbe(
    { host: config.host, port: config.port, servername: serverNameFor(config.host) },
    settings,
  );
  try {
    await runner.run("credentials", [], async (signal) => {
      const obtained = await obtainCredentials(prepared, signal);
      credentials = obtained.value;
      return obtained.detail;
    });
    await runner.run("dns", [], () => probe.dns());
    await runner.run("tcp", ["dns"], (signal) => probe.tcp(signal));
    await runner.run("tls", ["tcp"], (signal) => probe.tls(signal));
    const held = () => credentials as ObtainedCredentials;
    await runner.run("auth", ["credentials", "tls"], (signal) => probe.auth(held(), signal));
    await runner.run("whoami", ["auth"], (signal) => probe.whoami(held().username, signal));
    await runner.run("roundtrip", ["auth"], (signal) => probe.roundtrip(signal));
    if (config.cluster) {
      const context = () => remedyContext(config, credentials);
      await runner.run(
        "nodes",
        ["auth"],
        (signal) =>
          checkNodes({ seed: probe, settings, credentials: held(), context: context() }, signal),
        NODES_TIMEOUTS,
      );
    }
  } finally {
    probe.close();
  }
  const report = { ok: runner.steps.every((step) => step.ok), steps: runner.steps };
  return redactReport(report, [
    ...secretParts(credentials?.password),
    ...configuredSecrets(config),
  ]);
}

function remedyContext(
  config: ResolvedOptions,
  credentials: ObtainedCredentials | undefined,
): RemedyContext {
  return {
    host: config.host,
    port: config.port,
    tls: config.tls,
    kind: config.credentials.kind,
    timeoutMs: config.timeoutMs,
    username: credentials?.username,
  };
}

/** The secrets in the options themselves: a static password, a client secret. */
function configuredSecrets(config: ResolvedOptions): string[] {
  const { credentials } = config;
  if (credentials.kind === "static") return secretParts(credentials.password);
  if (credentials.kind === "entra") return secretParts(credentials.clientSecret);
  return [];
}
