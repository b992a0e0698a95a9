// The checks on the quote's own bytes (QVL QuoteVerifier 4.1.2.4.x): header, the QE report signed by
// the PCK key and bound to the attestation key, the QE's identity, and the ISV signature.
import { createHash, type KeyObject } from "node:crypto";
import {
  ATT_KEY_TYPE_ECDSA_P256,
  CertDataType,
  INTEL_QE_VENDOR_ID,
  QUOTE_VERSION_3,
  TEE_TYPE_SGX,
  isvSignedBytes,
  qeReportBytes,
  type QuoteV3,
  type ReportBody,
} from "../sgx/index.js";
import { p256Key, verifyP256 } from "./ecdsa.js";
import { fail, VerificationError } from "./errors.js";
import type { QeIdentity } from "./qe-identity.js";

const invalid = (step: string, message: string): never => {
  throw new VerificationError(step, "invalid-quote", message);
};

/** 4.1.2.4.2: a v3 ECDSA-P256 SGX quote by Intel's QE, carrying a PCK chain we can verify. */
export function checkHeader(q: QuoteV3): void {
  const h = q.header;
  if (h.version !== QUOTE_VERSION_3) invalid("quote.header", `version ${h.version} is not supported (3)`);
  if (h.attKeyType !== ATT_KEY_TYPE_ECDSA_P256) invalid("quote.header", `attestation key type ${h.attKeyType} is not ECDSA P-256 (2)`);
  if (h.teeType !== TEE_TYPE_SGX) invalid("quote.header", `TEE type 0x${h.teeType.toString(16)} is not SGX (0)`);
  if (!h.qeVendorId.equals(INTEL_QE_VENDOR_ID)) invalid("quote.header", `QE vendor id ${h.qeVendorId.toString("hex")} is not Intel's`);
  const type = q.signatureData.certification.type;
  if (type !== CertDataType.PCK_CERT_CHAIN) invalid("quote.certification-data", `type ${type} carries no PCK certificate chain (5) to verify`);
}

/** 4.1.2.4.12: the QE report is signed by the PCK key. */
export function checkQeReportSignature(quote: Buffer, q: QuoteV3, pckKey: KeyObject): void {
  if (!verifyP256(pckKey, qeReportBytes(quote), q.signatureData.qeReportSignature)) {
    fail("quote.qe-report-signature", "QE report signature does not verify under the PCK certificate's key");
  }
}

/** 4.1.2.4.13: QE report_data = SHA-256(attestation key || QE auth data) || 32 zero bytes. */
export function checkQeReportData(q: QuoteV3): void {
  const s = q.signatureData;
  const expected = createHash("sha256").update(s.attestationKey).update(s.qeAuthData).digest();
  const rd = s.qeReport.reportData;
  if (!rd.subarray(0, 32).equals(expected) || rd.subarray(32).some((b) => b !== 0)) {
    fail("quote.qe-report-data", "QE report data does not bind the attestation key and QE auth data");
  }
}

function attributesBytes(r: ReportBody): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(r.attributes.flags, 0);
  b.writeBigUInt64LE(r.attributes.xfrm, 8);
  return b;
}

/** 4.1.2.4.15: the QE is the one the QE Identity describes (masked MISCSELECT/attributes, MRSIGNER, ISVPRODID). */
export function checkQeIdentity(qe: ReportBody, id: QeIdentity): void {
  const step = "quote.qe-identity";
  if (((qe.miscSelect & id.miscselectMask) >>> 0) !== ((id.miscselect & id.miscselectMask) >>> 0)) {
    fail(step, `QE MISCSELECT 0x${qe.miscSelect.toString(16)} does not match the QE Identity under its mask`);
  }
  const attrs = attributesBytes(qe);
  if (!attrs.every((b, i) => (b & id.attributesMask[i]) === (id.attributes[i] & id.attributesMask[i]))) {
    fail(step, `QE attributes ${attrs.toString("hex")} do not match the QE Identity under its mask`);
  }
  if (!qe.mrSigner.equals(id.mrsigner)) fail(step, `QE MRSIGNER ${qe.mrSigner.toString("hex")} is not the QE Identity's ${id.mrsigner.toString("hex")}`);
  if (qe.isvProdId !== id.isvProdId) fail(step, `QE ISVPRODID ${qe.isvProdId} is not the QE Identity's ${id.isvProdId}`);
}

/** Imports the quote's attestation key (X||Y), failing the ISV signature step if it is not a P-256 point. */
export function attestationKeyOf(q: QuoteV3): KeyObject {
  try {
    return p256Key(q.signatureData.attestationKey);
  } catch {
    return fail("quote.isv-signature", "attestation key is not a valid P-256 point");
  }
}

/** 4.1.2.4.16: header and ISV report body are signed by the attestation key. */
export function checkIsvSignature(quote: Buffer, q: QuoteV3, key: KeyObject): void {
  if (!verifyP256(key, isvSignedBytes(quote), q.signatureData.isvSignature)) {
    fail("quote.isv-signature", "ISV signature does not verify under the attestation key");
  }
}
