import { createServer, type Server, type Socket } from "node:net";
import type { DoctorReport } from "../../src/doctor-report";
import type { DoctorStep, DoctorStepName } from "../../src/doctor-step";
import { formatReport, reportJson } from "../../src/format-report";

/** The step of `report` named `name`, or the test fails. */
export function step(report: DoctorReport, name: DoctorStepName): DoctorStep {
  const found = report.steps.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no ${name} step in ${JSON.stringify(report)}`);
  return found;
}

/** Each step's outcome, in order: `ok`, `failed` or `skipped`. */
export function outcomes(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(
    report.steps.map((s) => [s.name, s.ok ? "ok" : s.skipped ? "skipped" : "failed"]),
  );
}

/** A JWT (header.payload.signature, base64url), a Google access token, an AWS signature. */
const TOKEN_SHAPES = [
  /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/,
  /ya29\.[\w.-]+/,
  /X-Amz-Signature/i,
  /X-Amz-Security-Token/i,
];

/**
 * Both renderings of the report (text and --json) hold none of `secrets` and nothing shaped like
 * a token at all.
 */
export function expectNoSecrets(
  report: DoctorReport,
  secrets: readonly string[],
  ...more: string[]
): void {
  const heading = { host: "h", port: 1, tls: true, cluster: false };
  const texts = [reportJson(report), formatReport(report, heading), ...more];
  for (const text of texts) {
    for (const secret of secrets) expect(text).not.toContain(secret);
    for (const shape of TOKEN_SHAPES) expect(text).not.toMatch(shape);
  }
}

/** A port nothing listens on (one the system just handed out and took back). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A server that accepts connections and never answers, as a black-holing proxy does. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
