import type { DoctorReport } from "./doctor-report";
import type { DoctorStep } from "./doctor-step";

/** Shorter strings could be ordinary words of a report: no token or real password is this short. */
const MIN_SECRET_LENGTH = 6;

/**
 * A secret and the parts of it that identify it on their own: a JWT's signature, an AWS token's
 * signature and session token.
 */
export function secretParts(secret: string | undefined): string[] {
  if (secret === undefined) return [];
  const parts = [secret];
  const jwt = secret.split(".");
  if (jwt.length === 3) parts.push(jwt[2] as string);
  const query = secret.indexOf("?");
  if (query >= 0) {
    const params = new URLSearchParams(secret.slice(query + 1));
    for (const name of ["X-Amz-Signature", "X-Amz-Security-Token"]) {
      const value = params.get(name);
      if (value) parts.push(value, encodeURIComponent(value));
    }
  }
  return parts.filter((part) => part.length >= MIN_SECRET_LENGTH);
}

/** `text` with every secret part replaced: a last guard, should a server or library echo one. */
export function redactText(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join("[redacted]");
  return result;
}

/** The report with every secret part redacted from its details and remedies. */
export function redactReport(report: DoctorReport, secrets: readonly string[]): DoctorReport {
  if (secrets.length === 0) return report;
  const steps = report.steps.map(
    ({ name, ok, detail, remedy, skipped }): DoctorStep => ({
      name,
      ok,
      detail: redactText(detail, secrets),
      ...(remedy !== undefined && { remedy: redactText(remedy, secrets) }),
      ...(skipped && { skipped }),
    }),
  );
  return { ok: report.ok, steps };
}
