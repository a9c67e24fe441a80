import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface CertificateAuthority {
  /** PEM of the CA certificate: what clients trust. */
  readonly ca: string;
  /** Issues a server certificate for 127.0.0.1, ::1 and localhost. */
  issueServerCertificate(): { key: string; cert: string };
}

export interface ClientCertificate {
  /** Certificate and private key in one PEM, as ClientCertificateCredential takes them. */
  readonly pem: string;
  readonly certificate: string;
  readonly privateKey: string;
}

const oneDayMs = 24 * 60 * 60 * 1000;

function newKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return {
    privatePem,
    forgePrivate: forge.pki.privateKeyFromPem(privatePem),
    forgePublic: forge.pki.publicKeyFromPem(publicPem),
  };
}

function baseCertificate(publicKey: forge.pki.PublicKey, commonName: string) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive serial: the top bit of the first byte clear.
  cert.serialNumber = `0${randomBytes(15).toString("hex")}`;
  cert.validity.notBefore = new Date(Date.now() - oneDayMs);
  cert.validity.notAfter = new Date(Date.now() + 365 * oneDayMs);
  cert.setSubject([{ name: "commonName", value: commonName }]);
  return cert;
}

/** A throwaway CA, made at start, whose PEM the tests (and users' tests) trust. */
export function createCertificateAuthority(
  name = "redis-credentials testing CA",
): CertificateAuthority {
  const keys = newKeyPair();
  const caCert = baseCertificate(keys.forgePublic, name);
  caCert.setIssuer(caCert.subject.attributes);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(keys.forgePrivate, forge.md.sha256.create());

  return {
    ca: forge.pki.certificateToPem(caCert),
    issueServerCertificate() {
      const leafKeys = newKeyPair();
      const cert = baseCertificate(leafKeys.forgePublic, "localhost");
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true, clientAuth: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 7, ip: "127.0.0.1" },
            { type: 7, ip: "::1" },
          ],
        },
      ]);
      cert.sign(keys.forgePrivate, forge.md.sha256.create());
      return { key: leafKeys.privatePem, cert: forge.pki.certificateToPem(cert) };
    },
  };
}

/** A self-signed client certificate for `ClientCertificateCredential` (register its PEM). */
export function createClientCertificate(name = "redis-credentials test client"): ClientCertificate {
  const keys = newKeyPair();
  const cert = baseCertificate(keys.forgePublic, name);
  cert.setIssuer(cert.subject.attributes);
  cert.sign(keys.forgePrivate, forge.md.sha256.create());
  const certificate = forge.pki.certificateToPem(cert);
  return { certificate, privateKey: keys.privatePem, pem: `${keys.privatePem}${certificate}` };
}
