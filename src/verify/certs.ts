// X.509 certificates as the verifier needs them: parsed once with Node's X509Certificate (fast, native
// signature checks), plus the exact DER of names, serial and extensions from our DER walker.
import { X509Certificate, type KeyObject } from "node:crypto";
import { certificateFields, signedParts } from "./der.js";
import { fail } from "./errors.js";

export const ECDSA_WITH_SHA256 = Buffer.from("300a06082a8648ce3d040302", "hex");

export interface Cert {
  der: Buffer;
  /** Subject CN, and the subject/issuer as Node renders them (for messages). */
  cn: string;
  subject: string;
  issuer: string;
  subjectDer: Buffer;
  issuerDer: Buffer;
  /** INTEGER content octets of the serial number. */
  serial: Buffer;
  extensions: Map<string, Buffer>;
  /** Signature value (DER ECDSA); QVL identifies the root by these bytes. */
  signature: Buffer;
  signatureAlgorithm: Buffer;
  notBefore: Date;
  notAfter: Date;
  key: KeyObject;
  x509: X509Certificate;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

export function parseCert(der: Buffer): Cert {
  const x509 = new X509Certificate(der);
  const f = certificateFields(der);
  const s = signedParts(der);
  return {
    der,
    cn: /^CN=(.*)$/m.exec(x509.subject)?.[1] ?? "",
    subject: x509.subject.replace(/\n/g, ", "),
    issuer: x509.issuer.replace(/\n/g, ", "),
    subjectDer: f.subject.raw,
    issuerDer: f.issuer.raw,
    serial: f.serial.content,
    extensions: f.extensions,
    signature: s.signature,
    signatureAlgorithm: s.signatureAlgorithm,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    key: x509.publicKey,
    x509,
  };
}

// The same few certificates (roots, CAs, TCB Signing) recur in every chain; parsing is pure, so cache it.
const PARSED_CACHE_SIZE = 512;
const parsed = new Map<string, Cert>();

/** Splits and parses a PEM bundle (trailing NULs and whitespace allowed, anything else rejected). */
export function parsePemChain(step: string, what: string, pem: string): Cert[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  const rest = pem.replace(PEM_BLOCK, "").replace(/[\s\0]/g, "");
  if (rest.length > 0) fail(step, `${what} contains data outside PEM certificate blocks`);
  return blocks.map((b, i) => {
    const body = b.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
    let cert = parsed.get(body);
    if (!cert) {
      try {
        cert = parseCert(Buffer.from(body, "base64"));
      } catch (e) {
        return fail(step, `${what}: certificate ${i} does not parse: ${(e as Error).message}`);
      }
      if (parsed.size >= PARSED_CACHE_SIZE) parsed.delete(parsed.keys().next().value as string);
      parsed.set(body, cert);
    }
    return cert;
  });
}

export function isSignedBy(cert: Cert, issuer: Cert): boolean {
  return cert.signatureAlgorithm.equals(ECDSA_WITH_SHA256) && cert.x509.verify(issuer.key);
}

/** A validity window to check at verification time (results are cached; `now` varies per call). */
export interface Validity {
  step: string;
  what: string;
  notBefore: Date;
  notAfter: Date;
}

export const certValidity = (step: string, what: string, c: Cert): Validity => ({ step, what, notBefore: c.notBefore, notAfter: c.notAfter });
