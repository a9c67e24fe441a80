import type { PeerCertificate } from "node:tls";
import { StepFailure } from "./step-errors";

/** Node.js's verification errors that mean "not signed by anything trusted". */
const UNTRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
]);

/** The certificate's subject, names, issuer and validity, in one line. */
export function describeCertificate(certificate: PeerCertificate): string {
  if (certificate === undefined || Object.keys(certificate).length === 0) {
    return "no server certificate";
  }
  const names = certificate.subjectaltname ? ` (${certificate.subjectaltname})` : "";
  return `certificate ${nameOf(certificate.subject)}${names}, issued by ${nameOf(certificate.issuer)}, valid ${day(certificate.valid_from)} to ${day(certificate.valid_to)}${expiresSoon(certificate.valid_to)}`;
}

/** The tls step's failure for a certificate that did not verify, with what to do about it. */
export function untrustedCertificate(
  code: string,
  certificate: PeerCertificate,
  options: { host: string; servername: string | undefined; ca: string | undefined },
  trust: string,
): StepFailure {
  const detail = `the server's certificate did not verify against ${trust}: ${code}; ${describeCertificate(certificate)}`;
  const issuer = nameOf(certificate?.issuer);
  if (UNTRUSTED.has(code)) {
    return new StepFailure(
      detail,
      options.ca !== undefined
        ? `The certificate does not chain to the CA in --ca: pass the PEM of the CA that issued it (${issuer}), or fix the server's chain (it must send its intermediate certificates).`
        : `The certificate is not trusted: pass --ca FILE with the PEM of the CA that issued it (${issuer}), or fix the server's chain (it must send its intermediate certificates). Azure, AWS and Google Cloud certificates chain to public roots Node.js trusts: a private CA here means a self-managed server or a TLS-inspecting proxy on the way.`,
    );
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    return new StepFailure(
      detail,
      `The certificate is outside its validity (${day(certificate?.valid_from)} to ${day(certificate?.valid_to)}) by this machine's clock (${new Date().toISOString()}): check the clock (NTP), or renew the server's certificate.`,
    );
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return new StepFailure(
      detail,
      `The certificate is not for ${options.servername ?? options.host}: connect with a name it lists (${certificate?.subjectaltname ?? nameOf(certificate?.subject)}), such as the cache's own host name rather than an IP address or a CNAME of your own.`,
    );
  }
  return new StepFailure(
    detail,
    "Check the server's certificate and chain (openssl s_client -connect host:port -showcerts shows what it sends).",
  );
}

function nameOf(name: PeerCertificate["subject"] | undefined): string {
  if (name === undefined || name === null) return "(none)";
  const parts = (["CN", "O"] as const)
    .map((key) => (name[key] ? `${key}=${name[key]}` : undefined))
    .filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(", ") : "(no name)";
}

function day(text: string | undefined): string {
  const date = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(date) ? String(text) : new Date(date).toISOString().slice(0, 10);
}

/** A warning when the certificate expires within two weeks. */
function expiresSoon(validTo: string): string {
  const remainingMs = Date.parse(validTo) - Date.now();
  const days = Math.floor(remainingMs / 86_400_000);
  return remainingMs > 0 && days < 14 ? ` (expires in ${days} day${days === 1 ? "" : "s"})` : "";
}
