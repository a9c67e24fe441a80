import { generateKeyPair, type KeyObject, randomBytes, sign } from "node:crypto";
import { promisify } from "node:util";
import forge from "node-forge";

export interface CertificateAuthority {
  /** PEM of the CA certificate: what clients trust. */
  readonly ca: string;
  /** Issues a server certificate for 127.0.0.1, ::1 and localhost. */
  issueServerCertificate(): Promise<{ key: string; cert: string }>;
}

export interface ClientCertificate {
  /** Certificate and private key in one PEM, as ClientCertificateCredential takes them. */
  readonly pem: string;
  readonly certificate: string;
  readonly privateKey: string;
}

const oneDayMs = 24 * 60 * 60 * 1000;

const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * Off the event loop: a 2048-bit RSA key takes 0.1–0.8 s on a loaded 2-core machine, and a
 * process that also runs clients and token-enforcing servers must not stall (tokens that live a
 * few seconds would expire in the meantime).
 */
async function newKeyPair() {
  const { privateKey, publicKey } = await generateRsaKeyPair("rsa", { modulusLength: 2048 });
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
export async function createCertificateAuthority(
  name = "redis-credentials testing CA",
): Promise<CertificateAuthority> {
  const keys = await newKeyPair();
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
    async issueServerCertificate() {
      const leafKeys = await newKeyPair();
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
export async function createClientCertificate(
  name = "redis-credentials test client",
): Promise<ClientCertificate> {
  const keys = await newKeyPair();
  const cert = baseCertificate(keys.forgePublic, name);
  cert.setIssuer(cert.subject.attributes);
  signCertificate(cert, keys.privateKey);
  const certificate = forge.pki.certificateToPem(cert);
  return { certificate, privateKey: keys.privatePem, pem: `${keys.privatePem}${certificate}` };
}
