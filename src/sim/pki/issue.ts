// Issues the simulated SGX PKI: root CA, PCK Processor/Platform CA, PCK leaf with the SGX extension,
// TCB Signing, and the two CRLs. Extension set, order and criticality follow Intel's certificates:
// AKI, CRL DP, SKI, KU (critical), BC (critical) [, SGX extension]; CRLs carry CRL Number and AKI.
import crypto, { type KeyObject, type webcrypto } from "node:crypto";
import { x509 } from "../../common/x509.js";
import { AsnConvert } from "@peculiar/asn1-schema";
import { CRLNumber, id_ce_cRLNumber } from "@peculiar/asn1-x509";
import { ECDSA_SHA256, toWebKeyPair, type WebKeyPair } from "./keys.js";
import { CN, crlUrls, intelStyleName, type PckCaType } from "./names.js";
import { encodeSgxExtension, SGX_EXTENSION_OID, type SgxExtensionValues } from "../../dcap/sgx-extension.js";


export type CertRole = "root" | "pckCa" | "pck" | "tcbSigning";
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

export interface PkiKeys {
  root: KeyObject;
  pckCa: KeyObject;
  pck: KeyObject;
  tcbSigning: KeyObject;
}

export interface PkiOptions {
  caType: PckCaType;
  /** Prepended to Intel's CN phrases, e.g. "Confcom Simulated " gives "Confcom Simulated SGX Root CA". */
  cnPrefix: string;
  crlBaseUrl: string;
  /** Hex serial numbers (positive, 20 bytes like Intel's). */
  serials: Record<CertRole, string>;
  validity: Record<CertRole, Validity>;
  /** The WebCrypto that signs (default Node's, randomized; seeded platforms pass a deterministic one). */
  crypto?: webcrypto.Crypto;
}

export interface PkiCertificates {
  root: x509.X509Certificate;
  pckCa: x509.X509Certificate;
  pck: x509.X509Certificate;
  tcbSigning: x509.X509Certificate;
}

const KU = x509.KeyUsageFlags;

/** The default Intel-like validity windows, starting an hour before `now` (clock skew). */
export function defaultValidity(now: Date): Record<CertRole, Validity> {
  const notBefore = new Date(now.getTime() - 3600_000);
  const years = (n: number) => {
    const d = new Date(notBefore);
    d.setUTCFullYear(d.getUTCFullYear() + n);
    return d;
  };
  return {
    root: { notBefore, notAfter: new Date(Date.UTC(2049, 11, 31, 23, 59, 59)) },
    pckCa: { notBefore, notAfter: years(15) },
    pck: { notBefore, notAfter: years(7) },
    tcbSigning: { notBefore, notAfter: years(7) },
  };
}

/** A positive 20-byte serial from 20 bytes of material (top bit cleared, never zero). */
export function serialFromBytes(b: Buffer): string {
  const s = Buffer.from(b.subarray(0, 20));
  s[0] = (s[0]! & 0x7f) | 0x01;
  return s.toString("hex");
}

async function standardExtensions(
  subject: WebKeyPair,
  issuerPublic: webcrypto.CryptoKey,
  crlUrl: string,
  usages: x509.KeyUsageFlags,
  ca: { pathLength: number } | null,
): Promise<x509.Extension[]> {
  return [
    await x509.AuthorityKeyIdentifierExtension.create(issuerPublic, false),
    new x509.CRLDistributionPointsExtension([crlUrl], false),
    await x509.SubjectKeyIdentifierExtension.create(subject.publicKey, false),
    new x509.KeyUsagesExtension(usages, true),
    ca ? new x509.BasicConstraintsExtension(true, ca.pathLength, true) : new x509.BasicConstraintsExtension(false, undefined, true),
  ];
}

export async function issueCertificates(keys: PkiKeys, sgx: SgxExtensionValues, opts: PkiOptions): Promise<PkiCertificates> {
  const [root, pckCa, pck, tcb] = (await Promise.all([keys.root, keys.pckCa, keys.pck, keys.tcbSigning].map(toWebKeyPair))) as [WebKeyPair, WebKeyPair, WebKeyPair, WebKeyPair];
  const urls = crlUrls(opts.crlBaseUrl);
  const name = (cn: string) => new x509.Name(intelStyleName(opts.cnPrefix + cn));
  const rootName = name(CN.root);
  const pckCaName = name(CN.pckCa(opts.caType));
  const make = async (role: CertRole, subject: x509.Name, issuer: x509.Name, subjectKeys: WebKeyPair, issuerKeys: WebKeyPair, extensions: x509.Extension[]) =>
    x509.X509CertificateGenerator.create({
      serialNumber: opts.serials[role],
      subject,
      issuer,
      notBefore: opts.validity[role].notBefore,
      notAfter: opts.validity[role].notAfter,
      signingAlgorithm: ECDSA_SHA256,
      publicKey: subjectKeys.publicKey,
      signingKey: issuerKeys.privateKey,
      extensions,
    }, opts.crypto as Parameters<typeof x509.X509CertificateGenerator.create>[1]);

  const rootCert = await make("root", rootName, rootName, root, root, await standardExtensions(root, root.publicKey, urls.root, KU.keyCertSign | KU.cRLSign, { pathLength: 1 }));
  const pckCaCert = await make("pckCa", pckCaName, rootName, pckCa, root, await standardExtensions(pckCa, root.publicKey, urls.root, KU.keyCertSign | KU.cRLSign, { pathLength: 0 }));
  const tcbCert = await make("tcbSigning", name(CN.tcbSigning), rootName, tcb, root, await standardExtensions(tcb, root.publicKey, urls.root, KU.digitalSignature | KU.nonRepudiation, null));
  const pckExtensions = await standardExtensions(pck, pckCa.publicKey, urls.pck(opts.caType), KU.digitalSignature | KU.nonRepudiation, null);
  pckExtensions.push(new x509.Extension(SGX_EXTENSION_OID, false, encodeSgxExtension(sgx)));
  const pckCert = await make("pck", name(CN.pck), pckCaName, pck, pckCa, pckExtensions);
  return { root: rootCert, pckCa: pckCaCert, pck: pckCert, tcbSigning: tcbCert };
}

export interface CrlOptions {
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  /** Hex serial numbers of revoked certificates. */
  revokedSerials: string[];
}

/** A CRL issued by `issuer` (root CA or PCK CA), shaped like Intel's: v2, CRL Number, AKI. */
export async function issueCrl(issuer: x509.X509Certificate, issuerKey: KeyObject, opts: CrlOptions): Promise<x509.X509Crl> {
  const keys = await toWebKeyPair(issuerKey);
  return x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate: opts.thisUpdate,
    nextUpdate: opts.nextUpdate,
    signingAlgorithm: ECDSA_SHA256,
    signingKey: keys.privateKey,
    extensions: [
      new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(opts.crlNumber))),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false),
    ],
    entries: opts.revokedSerials.map((serialNumber) => ({ serialNumber, revocationDate: opts.thisUpdate })),
  });
}

/** The CRL Number of a CRL, or undefined when it has none. */
export function crlNumberOf(crl: x509.X509Crl): number | undefined {
  const ext = crl.extensions.find((e) => e.type === id_ce_cRLNumber);
  return ext ? AsnConvert.parse(ext.value, CRLNumber).value : undefined;
}

/** PEM of a CRL with the label OpenSSL and Intel's PCS use ("X509 CRL"). */
export function crlPem(crl: x509.X509Crl): string {
  return x509.PemConverter.encode(crl.rawData, "X509 CRL") + "\n";
}
