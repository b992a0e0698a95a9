// CRLs (hex DER in the collateral): signature under the issuing CA over the exact tbsCertList bytes,
// issuer name, required extensions, validity window, and revocation of chain members.
import { verify } from "node:crypto";
import { ECDSA_WITH_SHA256, type Cert, type Validity } from "./certs.js";
import { crlFields, signedParts, type CrlFields } from "./der.js";
import { fail } from "./errors.js";

const CRL_NUMBER = "2.5.29.20";
const AUTHORITY_KEY_ID = "2.5.29.35";

export interface VerifiedCrl {
  what: string;
  issuerDer: Buffer;
  issuer: Cert;
  /** Serial numbers (INTEGER content octets, hex) with their revocation dates. */
  revoked: Map<string, Date>;
  validity: Validity;
}

/** Serial INTEGER content without the sign-padding zero, so both encodings of one number compare equal. */
const serialKey = (b: Buffer): string => (b.length > 1 && b[0] === 0 ? b.subarray(1) : b).toString("hex");

export function verifyCrl(step: string, what: string, hexDer: string, issuer: Cert): VerifiedCrl {
  if (!/^([0-9a-fA-F]{2})+$/.test(hexDer)) fail(step, `${what} must be hex DER`);
  const der = Buffer.from(hexDer, "hex");
  let parts: ReturnType<typeof signedParts>;
  let f: CrlFields;
  try {
    parts = signedParts(der);
    f = crlFields(parts.tbsFields);
  } catch (e) {
    return fail(step, `${what} does not parse: ${(e as Error).message}`);
  }
  if (!f.issuer.raw.equals(issuer.subjectDer)) fail(step, `${what} is not issued by "${issuer.subject}"`);
  for (const oid of [CRL_NUMBER, AUTHORITY_KEY_ID]) if (!f.extensions.has(oid)) fail(step, `${what} lacks extension ${oid}`);
  if (!parts.signatureAlgorithm.equals(ECDSA_WITH_SHA256) || !verify("sha256", parts.tbs, { key: issuer.key, dsaEncoding: "der" }, parts.signature)) {
    fail(step, `${what} signature does not verify under "${issuer.cn}"`);
  }
  if (!f.nextUpdate) return fail(step, `${what} has no nextUpdate`);
  return {
    what,
    issuerDer: f.issuer.raw,
    issuer,
    revoked: new Map(f.revoked.map((r) => [serialKey(r.serial), r.date])),
    validity: { step, what, notBefore: f.thisUpdate, notAfter: f.nextUpdate },
  };
}

/** Why `cert` is revoked by `crl`, or undefined if it is not. Revocation is a verification result, not an error. */
export function revocationOf(step: string, crl: VerifiedCrl, cert: Cert): string | undefined {
  if (!cert.issuerDer.equals(crl.issuerDer)) fail(step, `"${cert.cn}" is not covered by ${crl.what} (issuer "${cert.issuer}")`);
  const since = crl.revoked.get(serialKey(cert.serial));
  return since ? `"${cert.cn}" (serial ${cert.serial.toString("hex")}) is revoked by ${crl.what} since ${since.toISOString()}` : undefined;
}
