// The simulated QE3: checks the app's report MAC as the QE, then produces a DCAP v3 quote signed by the
// platform's attestation key, certified by a QE report signed with the PCK key (cert data type 5).
//
// Everything in the quote except the ISV report body and the ISV signature depends only on the platform,
// so the quote is kept as a template and each getQuote costs one CMAC, one copy and one ECDSA sign.
import { createHash, createPublicKey, sign, type KeyObject } from "node:crypto";
import { AesmError } from "../../aesm/error-codes.js";
import { QuotingError, type InitQuoteResult, type QuoteResult, type QuotingBackend } from "../../quoting/backend.js";
import {
  ATT_KEY_ID_BASE_SIZE,
  ATT_KEY_ID_EXT_SIZE,
  ATT_KEY_TYPE_ECDSA_P256,
  CertDataType,
  DEFAULT_ECDSA_ATT_KEY_ID,
  INTEL_QE_VENDOR_ID,
  QE_AUTH_DATA_SIZE,
  QE_REPORT_INFO_SIZE,
  QUOTE_ISV_REPORT_OFFSET,
  QUOTE_ISV_SIGNATURE_OFFSET,
  QUOTE_ISV_SIGNED_LENGTH,
  QUOTE_VERSION_3,
  REPORT_BODY_SIZE,
  REPORT_SIZE,
  TEE_TYPE_SGX,
} from "../../sgx/constants.js";
import { decodeQeReportInfo, encodeQeReportInfo } from "../../sgx/qe-report-info.js";
import { encodeQuote } from "../../sgx/quote.js";
import { emptyReportBody, encodeReportBody, encodeTargetInfo } from "../../sgx/report.js";
import type { ReportBody } from "../../sgx/types.js";
import { macReportBody, reportBodyFor, verifyReportMac } from "../enclave/ereport.js";
import { targetInfoOf, type SimEnclaveIdentity } from "../enclave/identity.js";
import { ReportKeyring, sameBytes } from "../enclave/report-key.js";
import type { SimPlatform } from "../platform/types.js";
import { qe3Identity } from "./identity.js";

const SIGN_OPTS = { dsaEncoding: "ieee-p1363" } as const;
const SLAB_QUOTES = 16;
/** The reference QE's auth data: bytes 00..1f. */
export const QE3_AUTH_DATA = Buffer.from(Array.from({ length: QE_AUTH_DATA_SIZE }, (_, i) => i));

const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest();

/** X || Y of a P-256 key (the SPKI DER ends with the uncompressed point 04 || X || Y). */
export function rawP256PublicKey(key: Parameters<typeof createPublicKey>[0]): Buffer {
  const der = createPublicKey(key).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - 64));
}

export class SimulatedQuotingEnclave implements QuotingBackend {
  readonly name = "simulated";
  readonly identity: SimEnclaveIdentity;
  /** X || Y of the attestation key, as carried in quotes. */
  readonly attestationPublicKey: Buffer;
  /** ECDSA_ID = SHA-256(attestation key || auth data), also the QE report's report_data[0:32]. */
  readonly pubKeyId: Buffer;
  private readonly targetInfo: Buffer;
  private readonly reportKeys: ReportKeyring;
  private readonly signingKey: { key: KeyObject; dsaEncoding: "ieee-p1363" };
  private slab = Buffer.alloc(0);
  private slabUsed = SLAB_QUOTES;
  private readonly template: Buffer;

  constructor(readonly platform: SimPlatform) {
    this.identity = qe3Identity(platform);
    this.reportKeys = new ReportKeyring(platform, this.identity);
    this.signingKey = { key: platform.attestationKey, ...SIGN_OPTS };
    this.targetInfo = encodeTargetInfo(targetInfoOf(this.identity));
    this.attestationPublicKey = rawP256PublicKey(platform.attestationKey);
    this.pubKeyId = sha256(this.attestationPublicKey, QE3_AUTH_DATA);
    const qeReport = reportBodyFor(platform, this.identity, this.pubKeyId);
    this.template = encodeQuote({
      header: {
        version: QUOTE_VERSION_3,
        attKeyType: ATT_KEY_TYPE_ECDSA_P256,
        teeType: TEE_TYPE_SGX,
        qeSvn: platform.qe.isvSvn,
        pceSvn: platform.tcb.pceSvn,
        qeVendorId: Buffer.from(INTEL_QE_VENDOR_ID),
        userData: Buffer.concat([platform.qe.qeId, Buffer.alloc(4)]),
      },
      isvReport: emptyReportBody(),
      signatureData: {
        isvSignature: Buffer.alloc(64),
        attestationKey: this.attestationPublicKey,
        qeReport,
        qeReportSignature: sign("sha256", encodeReportBody(qeReport), { key: platform.pckKey, ...SIGN_OPTS }),
        qeAuthData: QE3_AUTH_DATA,
        certification: { type: CertDataType.PCK_CERT_CHAIN, data: Buffer.from(platform.pckChainPem + "\0", "utf8") },
      },
    });
  }

  async supportedAttKeyIds(): Promise<Buffer[]> {
    return [Buffer.from(DEFAULT_ECDSA_ATT_KEY_ID)];
  }

  async initQuote(attKeyId: Buffer): Promise<InitQuoteResult> {
    checkAttKeyId(attKeyId);
    return { targetInfo: Buffer.from(this.targetInfo), pubKeyId: Buffer.from(this.pubKeyId) };
  }

  async quoteSize(attKeyId: Buffer): Promise<number> {
    checkAttKeyId(attKeyId);
    return this.template.length;
  }

  async getQuote(report: Buffer, attKeyId: Buffer, qeReportInfo?: Buffer): Promise<QuoteResult> {
    return this.getQuoteSync(report, attKeyId, qeReportInfo);
  }

  /** getQuote without the promise, for callers that batch or benchmark. */
  getQuoteSync(report: Buffer, attKeyId: Buffer, qeReportInfo?: Buffer): QuoteResult {
    checkAttKeyId(attKeyId);
    if (report.length !== REPORT_SIZE) throw new QuotingError(AesmError.PARAMETER_ERROR, `report must be ${REPORT_SIZE} bytes, got ${report.length}`);
    if (qeReportInfo && qeReportInfo.length !== QE_REPORT_INFO_SIZE) {
      throw new QuotingError(AesmError.PARAMETER_ERROR, `qe_report_info must be ${QE_REPORT_INFO_SIZE} bytes, got ${qeReportInfo.length}`);
    }
    if (!verifyReportMac(this.platform, report, this.reportKeys)) {
      throw new QuotingError(AesmError.INVALID_REPORT, "the report's MAC does not verify for this quoting enclave (wrong target or platform, or tampered)");
    }
    const quote = this.nextQuoteBuffer();
    report.copy(quote, QUOTE_ISV_REPORT_OFFSET, 0, REPORT_BODY_SIZE);
    sign("sha256", quote.subarray(0, QUOTE_ISV_SIGNED_LENGTH), this.signingKey).copy(quote, QUOTE_ISV_SIGNATURE_OFFSET);
    return qeReportInfo ? { quote, qeReportInfo: this.fillQeReportInfo(qeReportInfo, quote) } : { quote };
  }

  /**
   * A fresh copy of the template. Quotes are cut from slabs of SLAB_QUOTES copies made at once, which
   * halves the per-quote cost of allocating a buffer above Node's pool size; a slab stays alive while
   * any quote cut from it does (at most SLAB_QUOTES x quote size).
   */
  private nextQuoteBuffer(): Buffer {
    const n = this.template.length;
    if (this.slabUsed === SLAB_QUOTES) {
      this.slab = Buffer.allocUnsafeSlow(n * SLAB_QUOTES);
      for (let i = 0; i < SLAB_QUOTES; i++) this.template.copy(this.slab, i * n);
      this.slabUsed = 0;
    }
    return this.slab.subarray(this.slabUsed * n, ++this.slabUsed * n);
  }

  /** The QE's report for the app enclave: report_data = SHA-256(nonce || quote) || 32 zeros. */
  private fillQeReportInfo(infoBytes: Buffer, quote: Buffer): Buffer {
    const info = decodeQeReportInfo(infoBytes);
    const body: ReportBody = reportBodyFor(this.platform, this.identity, sha256(info.nonce, quote));
    info.qeReport = macReportBody(this.platform, body, info.appEnclaveTargetInfo);
    return encodeQeReportInfo(info);
  }

  async close(): Promise<void> {}
}

const SUPPORTED_BASE = Buffer.from(DEFAULT_ECDSA_ATT_KEY_ID.subarray(0, ATT_KEY_ID_BASE_SIZE));

/** aesmd's rule: at least 256 bytes, and the 158-byte base must equal a supported key's. */
function checkAttKeyId(attKeyId: Buffer): void {
  if (attKeyId.length < ATT_KEY_ID_EXT_SIZE || !sameBytes(SUPPORTED_BASE, attKeyId)) {
    throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, "only the default ECDSA P-256 attestation key id is supported");
  }
}
