// DCAP ECDSA quote v3 (fact sheet section 5) and the exact bytes each of its signatures covers.
//
// Length rule: a quote must be exactly 436 + sig_data_len bytes, and the signature data must end exactly
// where its certification data ends. Anything else (trailing bytes, sizes that disagree) is an
// SgxCodecError, as Intel's QVL rejects such quotes. aesmd hands out zero-padded buffers of the size the
// caller asked for; use `declaredQuoteLength` to cut those down before parsing.
import { ByteReader, ByteWriter, bytes, decodeExact, encodeExact, struct, u16, u32 } from "./bytes.js";
import {
  ATT_KEY_TYPE_ECDSA_P256,
  QUOTE_ISV_SIGNED_LENGTH,
  QUOTE_QE_REPORT_OFFSET,
  QUOTE_SIG_DATA_LEN_OFFSET,
  QUOTE_SIG_DATA_OFFSET,
  QUOTE_V3_FIXED_SIZE,
  QUOTE_VERSION_3,
  REPORT_BODY_SIZE,
} from "./constants.js";
import { SgxCodecError } from "./errors.js";
import { REPORT_BODY, encodeReportBody } from "./report.js";
import type { QuoteHeader, QuoteV3 } from "./types.js";

export const QUOTE_HEADER = struct<QuoteHeader>("quote header", {
  version: u16,
  attKeyType: u16,
  teeType: u32,
  qeSvn: u16,
  pceSvn: u16,
  qeVendorId: bytes(16),
  userData: bytes(20),
});

export const decodeQuoteHeader = (buf: Buffer): QuoteHeader => decodeExact(QUOTE_HEADER, buf);
export const encodeQuoteHeader = (h: QuoteHeader): Buffer => encodeExact(QUOTE_HEADER, h);

const MIN_CERT_TYPE = 1;
const MAX_CERT_TYPE = 5;

/**
 * Decodes a v3 quote. Its byte fields are copies of `buf`, or with `views` views into it (no allocation
 * per field: the verifier's hot path, for a `buf` the caller owns and keeps unchanged).
 */
export function parseQuote(buf: Buffer, opts: { views?: boolean } = {}): QuoteV3 {
  const r = new ByteReader(buf, "quote", 0, buf.length, opts.views);
  const header = QUOTE_HEADER.read(r, "header");
  if (header.version !== QUOTE_VERSION_3) r.fail("header.version", `is ${header.version}, only version 3 is supported`, 0);
  // The signature data layout below is the one for ECDSA P-256 keys.
  if (header.attKeyType !== ATT_KEY_TYPE_ECDSA_P256) r.fail("header.att_key_type", `is ${header.attKeyType}, expected 2 (ECDSA P-256)`, 2);
  const isvReport = REPORT_BODY.read(r, "isv_report");
  const sigDataLen = r.u32("signature_data_len");
  const signatureData = r.scoped("signature_data", () => {
    const isvSignature = r.bytes("isv_signature", 64);
    const attestationKey = r.bytes("attestation_key", 64);
    const qeReport = REPORT_BODY.read(r, "qe_report");
    const qeReportSignature = r.bytes("qe_report_signature", 64);
    const qeAuthData = r.bytes("qe_auth_data", r.u16("qe_auth_data_size"));
    const certification = r.scoped("certification", () => {
      const typeAt = r.offset;
      const type = r.u16("type");
      if (type < MIN_CERT_TYPE || type > MAX_CERT_TYPE) r.fail("type", `is ${type}, a v3 quote allows ${MIN_CERT_TYPE}-${MAX_CERT_TYPE}`, typeAt);
      return { type, data: r.bytes("data", r.u32("size")) };
    });
    return { isvSignature, attestationKey, qeReport, qeReportSignature, qeAuthData, certification };
  });
  if (r.remaining > 0) r.fail("end of quote", `has ${r.remaining} trailing byte(s) after the certification data`);
  const actual = r.offset - QUOTE_SIG_DATA_OFFSET;
  if (sigDataLen !== actual) {
    r.fail("signature_data_len", `is ${sigDataLen} but the signature data it covers is ${actual} bytes`, QUOTE_SIG_DATA_LEN_OFFSET);
  }
  return { header, isvReport, signatureData };
}

export function encodeQuote(q: QuoteV3): Buffer {
  const s = q.signatureData;
  const size = QUOTE_V3_FIXED_SIZE + s.qeAuthData.length + s.certification.data.length;
  const w = new ByteWriter(size, "quote");
  QUOTE_HEADER.write(w, "header", q.header);
  REPORT_BODY.write(w, "isv_report", q.isvReport);
  w.u32("signature_data_len", size - QUOTE_SIG_DATA_OFFSET);
  w.scoped("signature_data", () => {
    w.bytes("isv_signature", s.isvSignature, 64);
    w.bytes("attestation_key", s.attestationKey, 64);
    REPORT_BODY.write(w, "qe_report", s.qeReport);
    w.bytes("qe_report_signature", s.qeReportSignature, 64);
    w.u16("qe_auth_data_size", s.qeAuthData.length);
    w.bytes("qe_auth_data", s.qeAuthData);
    w.u16("certification.type", s.certification.type);
    w.u32("certification.size", s.certification.data.length);
    w.bytes("certification.data", s.certification.data);
  });
  return w.done();
}

/** 436 + sig_data_len: the length the quote at the start of `buf` declares (it may be zero-padded). */
export function declaredQuoteLength(buf: Buffer): number {
  need(buf, QUOTE_SIG_DATA_OFFSET, "signature_data_len", QUOTE_SIG_DATA_LEN_OFFSET);
  return QUOTE_SIG_DATA_OFFSET + buf.readUInt32LE(QUOTE_SIG_DATA_LEN_OFFSET);
}

function need(buf: Buffer, end: number, what: string, start: number): void {
  if (buf.length < end) throw new SgxCodecError("quote", what, start, "truncated", end - start, Math.max(0, buf.length - start));
}

/** The bytes the ISV signature covers: header and ISV report body, quote[0:432]. */
export function isvSignedBytes(quote: Buffer | QuoteV3): Buffer {
  if (Buffer.isBuffer(quote)) {
    need(quote, QUOTE_ISV_SIGNED_LENGTH, "header and isv_report", 0);
    return quote.subarray(0, QUOTE_ISV_SIGNED_LENGTH);
  }
  return Buffer.concat([encodeQuoteHeader(quote.header), encodeReportBody(quote.isvReport)]);
}

/** The bytes the QE report signature (by the PCK key) covers: the 384-byte QE report body. */
export function qeReportBytes(quote: Buffer | QuoteV3): Buffer {
  if (Buffer.isBuffer(quote)) {
    need(quote, QUOTE_QE_REPORT_OFFSET + REPORT_BODY_SIZE, "signature_data.qe_report", QUOTE_QE_REPORT_OFFSET);
    return quote.subarray(QUOTE_QE_REPORT_OFFSET, QUOTE_QE_REPORT_OFFSET + REPORT_BODY_SIZE);
  }
  return encodeReportBody(quote.signatureData.qeReport);
}

/** What the QE report's report_data[0:32] is the SHA-256 of: attestation key (64) || QE auth data. */
export function qeReportDataPreimage(quote: QuoteV3): Buffer {
  return Buffer.concat([quote.signatureData.attestationKey, quote.signatureData.qeAuthData]);
}

export interface QuoteSignedRegions {
  /** Signed by the attestation key (signature_data.isv_signature). */
  isvSigned: Buffer;
  /** Signed by the PCK key (signature_data.qe_report_signature). */
  qeReportBody: Buffer;
  /** SHA-256 of this must equal qe_report.report_data[0:32]. */
  qeReportDataPreimage: Buffer;
}

export function quoteSignedRegions(quote: Buffer | QuoteV3): QuoteSignedRegions {
  const q = Buffer.isBuffer(quote) ? parseQuote(quote) : quote;
  return {
    isvSigned: isvSignedBytes(quote),
    qeReportBody: qeReportBytes(quote),
    qeReportDataPreimage: qeReportDataPreimage(q),
  };
}
