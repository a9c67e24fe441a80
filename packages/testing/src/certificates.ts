import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
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
  return {
    privateKey,
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    forgePublic: forge.pki.publicKeyFromPem(
      publicKey.export({ type: "spki", format: "pem" }).toString(),
    ),
  };
}

/**
 * Signs with Node's crypto rather than node-forge's pure-JS RSA, which takes seconds per
 * signature under jest on Node 24.
 */
function signCertificate(cert: forge.pki.Certificate, key: KeyObject) {
  const sha256WithRsa = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.signatureOid = sha256WithRsa;
  cert.siginfo.algorithmOid = sha256WithRsa;
  // getTBSCertificate exists at run time but is missing from @types/node-forge.
  const pki = forge.pki as typeof forge.pki & {
    getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1;
  };
  cert.tbsCertificate = pki.getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), "binary");
  cert.signature = sign("sha256", tbs, key).toString("binary");
}

function baseCertificate(publicKey: forge.pki.PublicKey, commonName: string) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // DER wants a positive, minimally encoded INTEGER: first byte in 0x40..0x7f.
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
  cert.serialNumber = serial.toString("hex");
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
  signCertificate(caCert, keys.privateKey);

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
      signCertificate(cert, keys.privateKey);
      return { key: leafKeys.privatePem, cert: forge.pki.certificateToPem(cert) };
    },
  };
}

/** A self-signed client certificate for `ClientCertificateCredential` (register its PEM). */
export function createClientCertificate(name = "redis-credentials test client"): ClientCertificate {
  const keys = newKeyPair();
  const cert = baseCertificate(keys.forgePublic, name);
  cert.setIssuer(cert.subject.attributes);
  signCertificate(cert, keys.privateKey);
  const certificate = forge.pki.certificateToPem(cert);
  return { certificate, privateKey: keys.privatePem, pem: `${keys.privatePem}${certificate}` };
}
