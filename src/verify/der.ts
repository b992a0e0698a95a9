// Certificates and CRLs by a DER walk: just enough to take the exact signed bytes (tbsCertificate /
// tbsCertList), names, serials, validity, key and extensions out of them without re-encoding anything.
import { children, DerError, readOnly, type Tlv } from "../common/der.js";

export { children, DerError, oidToString, readOnly, readTlv, type Tlv } from "../common/der.js";

const SEQUENCE = 0x30;
const CONTEXT_0 = 0xa0;
const CONTEXT_3 = 0xa3;
const BOOLEAN = 0x01;

export interface SignedParts {
  /** The exact signed bytes (tbsCertificate / tbsCertList). */
  tbs: Buffer;
  tbsFields: Tlv[];
  /** The DER ECDSA signature (BIT STRING content without the unused-bits octet). */
  signature: Buffer;
  signatureAlgorithm: Buffer;
}

/** Splits Certificate / CertificateList: SEQUENCE { tbs, signatureAlgorithm, signatureValue }. */
export function signedParts(der: Buffer): SignedParts {
  const outer = readOnly(der);
  const [tbs, alg, sig] = children(outer);
  if (outer.tag !== SEQUENCE || !tbs || !alg || !sig || tbs.tag !== SEQUENCE || sig.tag !== 0x03 || sig.content[0] !== 0) {
    throw new DerError("not a signed X.509 structure");
  }
  return { tbs: tbs.raw, tbsFields: children(tbs), signature: sig.content.subarray(1), signatureAlgorithm: alg.raw };
}

export interface CertificateFields extends SignedParts {
  serial: Tlv;
  issuer: Tlv;
  subject: Tlv;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo, whole. */
  spki: Tlv;
  extensions: Map<string, Buffer>;
}

/** Certificate fields by position, skipping the optional [0] version. */
export function certificateFields(der: Buffer): CertificateFields {
  const parts = signedParts(der);
  const f = parts.tbsFields;
  const i = f[0]?.tag === CONTEXT_0 ? 1 : 0;
  const [serial, , issuer, validity, subject, spki] = f.slice(i, i + 6);
  if (serial?.tag !== 0x02 || issuer?.tag !== SEQUENCE || validity?.tag !== SEQUENCE || subject?.tag !== SEQUENCE || spki?.tag !== SEQUENCE) {
    throw new DerError("malformed tbsCertificate");
  }
  const [notBefore, notAfter, more] = children(validity);
  if (!notBefore || !notAfter || more) throw new DerError("malformed validity");
  const extensions = new Map<string, Buffer>();
  const ext = f.find((t) => t.tag === CONTEXT_3);
  if (ext) {
    const list = children(ext)[0];
    if (list?.tag !== SEQUENCE) throw new DerError("malformed extensions");
    for (const e of children(list)) {
      const parts = children(e);
      const value = parts[parts.length - 1];
      if (parts.length < 2 || parts.length > 3 || parts[0].tag !== 0x06 || (parts.length === 3 && parts[1].tag !== BOOLEAN) || value.tag !== 0x04) {
        throw new DerError("malformed extension");
      }
      extensions.set(parts[0].oid(), value.content);
    }
  }
  return { ...parts, serial, issuer, subject, notBefore: readTime(notBefore), notAfter: readTime(notAfter), spki, extensions };
}

const COMMON_NAME = "2.5.4.3";

/** The first commonName attribute of a Name, decoded as its string type says (empty if none). */
export function commonName(name: Tlv): string {
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type?.tag !== 0x06 || !value || type.oid() !== COMMON_NAME) continue;
      // UTF8String; BMPString (UTF-16BE); the rest (Printable, IA5, Teletex) as Latin-1.
      if (value.tag === 0x0c) return value.content.toString("utf8");
      if (value.tag === 0x1e && value.content.length % 2 === 0) return Buffer.from(value.content).swap16().toString("utf16le");
      return value.content.toString("latin1");
    }
  }
  return "";
}

/** AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, whole. */
const P256_ALGORITHM = Buffer.from("301306072a8648ce3d020106082a8648ce3d030107", "hex");

/** The uncompressed point (0x04 || X || Y) of a P-256 SubjectPublicKeyInfo, or undefined for any other key. */
export function p256Point(spki: Tlv): Buffer | undefined {
  const [alg, key] = children(spki);
  if (!alg || key?.tag !== 0x03 || !alg.raw.equals(P256_ALGORITHM)) return undefined;
  const point = key.content.subarray(1);
  return key.content[0] === 0 && point.length === 65 && point[0] === 0x04 ? point : undefined;
}

/** UTCTime (tag 0x17, years 1950-2049) or GeneralizedTime (0x18), both in their DER "Z" forms. */
export function readTime(t: Tlv): Date {
  const s = t.content.toString("latin1");
  const m = t.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : t.tag === 0x18 ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : null;
  if (!m) throw new DerError(`not a DER time: ${s}`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export interface CrlFields {
  issuer: Tlv;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Serial INTEGER content octets (hex) -> revocation date. */
  revoked: { serial: Buffer; date: Date }[];
  extensions: Set<string>;
}

/** tbsCertList: [version] signature issuer thisUpdate [nextUpdate] [revokedCertificates] [[0] crlExtensions]. */
export function crlFields(tbsFields: Tlv[]): CrlFields {
  let i = tbsFields[0]?.tag === 0x02 ? 2 : 1;
  const issuer = tbsFields[i++];
  if (!issuer || issuer.tag !== SEQUENCE) throw new DerError("CRL has no issuer");
  const thisUpdateTlv = tbsFields[i++];
  if (!thisUpdateTlv) throw new DerError("CRL has no thisUpdate");
  const thisUpdate = readTime(thisUpdateTlv);
  let nextUpdate: Date | undefined;
  if (tbsFields[i]?.tag === 0x17 || tbsFields[i]?.tag === 0x18) nextUpdate = readTime(tbsFields[i++]);
  const revoked: CrlFields["revoked"] = [];
  if (tbsFields[i]?.tag === SEQUENCE) {
    for (const entry of children(tbsFields[i++])) {
      const [serial, date] = children(entry);
      if (serial?.tag !== 0x02 || !date) throw new DerError("malformed revoked certificate entry");
      revoked.push({ serial: serial.content, date: readTime(date) });
    }
  }
  const extensions = new Set<string>();
  if (tbsFields[i]?.tag === CONTEXT_0) {
    for (const e of children(children(tbsFields[i++])[0])) extensions.add(children(e)[0].oid());
  }
  if (i !== tbsFields.length) throw new DerError("unexpected fields in tbsCertList");
  return { issuer, thisUpdate, nextUpdate, revoked, extensions };
}
