// Typed SGX/DCAP structures. Codecs in this folder decode bytes into these once, at the edge, and
// encode them back byte-identically. Byte fields are Buffers of the exact size noted; integers are
// numbers (u16/u32) or bigints (u64). Layouts: ../shared/reference/aesm-and-dcap.md sections 4-5.

export interface Attributes {
  flags: bigint; // u64; bit 0x2 = DEBUG, 0x1 INIT, 0x4 MODE64, 0x10 PROVISION_KEY
  xfrm: bigint; // u64
}

/** sgx_report_body_t, 384 bytes. Reserved fields are kept so encoding is byte-identical. */
export interface ReportBody {
  cpuSvn: Buffer; // 16
  miscSelect: number; // u32
  reserved1: Buffer; // 12
  isvExtProdId: Buffer; // 16
  attributes: Attributes;
  mrEnclave: Buffer; // 32
  reserved2: Buffer; // 32
  mrSigner: Buffer; // 32
  reserved3: Buffer; // 32
  configId: Buffer; // 64
  isvProdId: number; // u16
  isvSvn: number; // u16
  configSvn: number; // u16
  reserved4: Buffer; // 42
  isvFamilyId: Buffer; // 16
  reportData: Buffer; // 64
}

/** sgx_report_t, 432 bytes. */
export interface Report {
  body: ReportBody;
  keyId: Buffer; // 32
  mac: Buffer; // 16
}

/** sgx_target_info_t, 512 bytes. */
export interface TargetInfo {
  mrEnclave: Buffer; // 32
  attributes: Attributes;
  reserved1: Buffer; // 2
  configSvn: number; // u16
  miscSelect: number; // u32
  reserved2: Buffer; // 8
  configId: Buffer; // 64
  reserved3: Buffer; // 384
}

/** sgx_ql_att_key_id_t, the 158-byte base that key ids are matched on. */
export interface AttKeyIdBase {
  id: number; // u16
  version: number; // u16
  mrSignerLength: number; // u16
  mrSigner: Buffer; // 48
  prodId: number; // u32
  extendedProdId: Buffer; // 16
  configId: Buffer; // 64
  familyId: Buffer; // 16
  algorithmId: number; // u32; 2 = ECDSA P-256
}

/** sgx_att_key_id_ext_t, 256 bytes (sgx_att_key_id_t is the same 256 bytes, opaque). */
export interface AttKeyIdExt {
  base: AttKeyIdBase;
  spid: Buffer; // 16
  attKeyType: number; // u16
  reserved: Buffer; // 80
}

/** sgx_ql_qe_report_info_t, 960 bytes. */
export interface QeReportInfo {
  nonce: Buffer; // 16
  appEnclaveTargetInfo: TargetInfo;
  qeReport: Report;
}

/** sgx_quote_header_t (v3), 48 bytes. */
export interface QuoteHeader {
  version: number; // u16, 3
  attKeyType: number; // u16, 2 = ECDSA-256-with-P-256
  teeType: number; // u32 (att_key_data_0), 0 for SGX
  qeSvn: number; // u16
  pceSvn: number; // u16
  qeVendorId: Buffer; // 16
  userData: Buffer; // 20 (QE id + 4 zero bytes)
}

/** Certification data (types 1-5 for v3). For type 5, `data` ends with the counted NUL. */
export interface CertificationData {
  type: number; // u16
  data: Buffer;
}

/** sgx_ql_ecdsa_sig_data_t and what follows it, as carried in a v3 quote. */
export interface EcdsaSignatureData {
  isvSignature: Buffer; // 64, r||s big-endian
  attestationKey: Buffer; // 64, X||Y big-endian
  qeReport: ReportBody;
  qeReportSignature: Buffer; // 64
  qeAuthData: Buffer; // u16-length-prefixed on the wire
  certification: CertificationData;
}

/** A DCAP ECDSA quote, version 3. */
export interface QuoteV3 {
  header: QuoteHeader;
  isvReport: ReportBody;
  signatureData: EcdsaSignatureData;
}

/** sgx_ql_att_key_id_list_header_t. */
export interface AttKeyIdListHeader {
  id: number; // u16
  version: number; // u16
  numAttIds: number; // u32
}

/** sgx_ql_att_key_id_list_t: the header and its num_att_ids 256-byte key ids. */
export interface AttKeyIdList {
  header: AttKeyIdListHeader;
  keyIds: AttKeyIdExt[];
}
