// X.509 certificates as the verifier needs them, by our DER walk (Node's X509Certificate costs more than
// a signature verification per certificate, most of it decoding the key): the exact DER of names, serial
// and extensions, validity, and the P-256 key imported only when first used. Node's parse is kept for
// what only messages need (subject and issuer as OpenSSL renders them) and for keys that are not P-256.
import { verify, X509Certificate, type KeyObject } from "node:crypto";
import { certificateFields, commonName, p256Point } from "./der.js";
import { p256KeyFromPoint } from "./ecdsa.js";
import { fail } from "./errors.js";

export const ECDSA_WITH_SHA256 = Buffer.from("300a06082a8648ce3d040302", "hex");

export class Cert {
  /** Subject CN (the first commonName attribute). */
  readonly cn: string;
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  /** INTEGER content octets of the serial number. */
  readonly serial: Buffer;
  readonly extensions: Map<string, Buffer>;
  /** The exact signed bytes (tbsCertificate). */
  readonly tbs: Buffer;
  /** Signature value (DER ECDSA); QVL identifies the root by these bytes. */
  readonly signature: Buffer;
  readonly signatureAlgorithm: Buffer;
  /** The signature algorithm inside tbsCertificate, which must be the outer one. */
  readonly tbsSignatureAlgorithm: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  private readonly point: Buffer | undefined;
  private keyObject?: KeyObject;
  private parsed?: X509Certificate;

  /** Throws (a DerError) if `der` is not a certificate as far as the walk reads it. */
  constructor(readonly der: Buffer) {
    const f = certificateFields(der);
    this.cn = commonName(f.subject);
    this.subjectDer = f.subject.raw;
    this.issuerDer = f.issuer.raw;
    this.serial = f.serial.content;
    this.extensions = f.extensions;
    this.tbs = f.tbs;
    this.signature = f.signature;
    this.signatureAlgorithm = f.signatureAlgorithm;
    this.tbsSignatureAlgorithm = f.tbsFields[f.tbsFields[0]?.tag === 0xa0 ? 2 : 1].raw;
    this.notBefore = f.notBefore;
    this.notAfter = f.notAfter;
    this.point = p256Point(f.spki);
  }

  get x509(): X509Certificate {
    return (this.parsed ??= new X509Certificate(this.der));
  }

  /** The subject as Node renders it (for messages). */
  get subject(): string {
    return this.rendered("subject");
  }

  get issuer(): string {
    return this.rendered("issuer");
  }

  private rendered(which: "subject" | "issuer"): string {
    try {
      return this.x509[which].replace(/\n/g, ", ");
    } catch {
      return which === "subject" ? `CN=${this.cn}` : "(unparsable)";
    }
  }

  get key(): KeyObject {
    return (this.keyObject ??= this.point ? p256KeyFromPoint(this.point) : this.x509.publicKey);
  }
}

export const parseCert = (der: Buffer): Cert => new Cert(der);

const BEGIN = "-----BEGIN CERTIFICATE-----";
const END = "-----END CERTIFICATE-----";
// Greedy body: its class has no "-", so it stops where the END line starts.
const PEM_BLOCK = new RegExp(`${BEGIN}[A-Za-z0-9+/=\\s]+${END}`, "g");

// The same few certificates (roots, CAs, TCB Signing) recur in every chain; parsing is pure, so cache it.
// Keys are the PEM blocks themselves, so only blocks of a real certificate's size are kept (Intel's are
// ~1 KB): 512 entries of at most 8 KB bound the cache at 4 MiB whatever a hostile chain holds.
const PARSED_CACHE_SIZE = 512;
const MAX_CACHED_PEM = 8192;
const parsed = new Map<string, Cert>();

/** Splits and parses a PEM bundle (trailing NULs and whitespace allowed, anything else rejected). */
export function parsePemChain(step: string, what: string, pem: string): Cert[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  const rest = pem.replace(PEM_BLOCK, "").replace(/[\s\0]/g, "");
  if (rest.length > 0) fail(step, `${what} contains data outside PEM certificate blocks`);
  return parsePemBlocks(step, what, blocks);
}

/** The DER inside one PEM block whose body is base64 already (Node's decoder skips the line breaks). */
export function pemBlockDer(block: string): Buffer {
  if (!block.startsWith(BEGIN) || !block.endsWith(END)) throw new Error("not a PEM CERTIFICATE block");
  return Buffer.from(block.slice(BEGIN.length, block.length - END.length), "base64");
}

/** Parses PEM blocks split already (e.g. by the quote's certification-data codec), one certificate each. */
export function parsePemBlocks(step: string, what: string, blocks: readonly string[]): Cert[] {
  return blocks.map((block, i) => {
    // Keyed without trailing whitespace: the codec ends each block with "\n", a bundle's match does not,
    // and the root recurs in both (a miss would parse it again on every cold verification).
    const b = block.trimEnd();
    let cert = parsed.get(b);
    if (!cert) {
      try {
        cert = parseCert(pemBlockDer(b));
      } catch (e) {
        return fail(step, `${what}: certificate ${i} does not parse: ${(e as Error).message}`);
      }
      if (b.length <= MAX_CACHED_PEM) {
        if (parsed.size >= PARSED_CACHE_SIZE) parsed.delete(parsed.keys().next().value as string);
        parsed.set(b, cert);
      }
    }
    return cert;
  });
}

/**
 * Signature links already verified, per trust anchor (so per verifier): a CA met in several chains
 * (PCK chain and PCK CRL issuer chain, TCB Info and QE Identity chains) costs one verification.
 */
export class VerifiedLinks {
  private readonly ok = new WeakMap<Cert, WeakSet<Cert>>();

  isSignedBy(cert: Cert, issuer: Cert): boolean {
    if (this.ok.get(cert)?.has(issuer)) return true;
    if (!isSignedBy(cert, issuer)) return false;
    let set = this.ok.get(cert);
    if (!set) this.ok.set(cert, (set = new WeakSet()));
    set.add(issuer);
    return true;
  }
}

export function isSignedBy(cert: Cert, issuer: Cert): boolean {
  if (!cert.signatureAlgorithm.equals(ECDSA_WITH_SHA256) || !cert.tbsSignatureAlgorithm.equals(ECDSA_WITH_SHA256)) return false;
  try {
    return verify("sha256", cert.tbs, { key: issuer.key, dsaEncoding: "der" }, cert.signature);
  } catch {
    return false; // a key of another type (the issuer's key is whatever a hostile chain put there)
  }
}

/** A validity window to check at verification time (results are cached; `now` varies per call). */
export interface Validity {
  step: string;
  what: string;
  notBefore: Date;
  notAfter: Date;
}

export const certValidity = (step: string, what: string, c: Cert): Validity => ({ step, what, notBefore: c.notBefore, notAfter: c.notAfter });
