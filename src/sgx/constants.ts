// Sizes and Intel's well-known values (fact sheet sections 4-5).
import { encodeAttKeyIdExt } from "./att-key-id.js";

export const REPORT_BODY_SIZE = 384;
export const REPORT_SIZE = 432;
export const TARGET_INFO_SIZE = 512;
export const ATT_KEY_ID_BASE_SIZE = 158;
export const ATT_KEY_ID_EXT_SIZE = 256;
export const ATT_KEY_ID_LIST_HEADER_SIZE = 8;
export const QE_REPORT_INFO_SIZE = 960;
export const QUOTE_HEADER_SIZE = 48;

export const QUOTE_VERSION_3 = 3;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const TEE_TYPE_SGX = 0;
export const ALGORITHM_ID_ECDSA_P256 = 2;

/** Offsets inside a v3 quote. */
export const QUOTE_ISV_REPORT_OFFSET = 48;
/** The ISV signature covers quote[0:432]: header and ISV report body, not sig_data_len. */
export const QUOTE_ISV_SIGNED_LENGTH = 432;
export const QUOTE_SIG_DATA_LEN_OFFSET = 432;
export const QUOTE_SIG_DATA_OFFSET = 436;
export const QUOTE_ISV_SIGNATURE_OFFSET = 436;
export const QUOTE_ATTESTATION_KEY_OFFSET = 500;
export const QUOTE_QE_REPORT_OFFSET = 564;
export const QUOTE_QE_REPORT_SIGNATURE_OFFSET = 948;
export const QUOTE_QE_AUTH_DATA_SIZE_OFFSET = 1012;
/** Everything but the QE auth data and the certification data: 1020 bytes. */
export const QUOTE_V3_FIXED_SIZE = 1020;
/** The reference QE's auth data is 32 bytes (00..1f), making a quote 1052 + cert data size. */
export const QE_AUTH_DATA_SIZE = 32;
export const QUOTE_V3_SIZE_WITHOUT_CERT_DATA = QUOTE_V3_FIXED_SIZE + QE_AUTH_DATA_SIZE;
/** sig_data_len = 616 + cert data size for 32-byte auth data. */
export const SIG_DATA_SIZE_WITHOUT_CERT_DATA = QUOTE_V3_SIZE_WITHOUT_CERT_DATA - QUOTE_SIG_DATA_OFFSET;

/** Certification data types valid in a v3 quote (sgx_quote_3.h). */
export enum CertDataType {
  PPID_CLEARTEXT = 1,
  PPID_RSA2048_ENCRYPTED = 2,
  PPID_RSA3072_ENCRYPTED = 3,
  PCK_CERT = 4,
  PCK_CERT_CHAIN = 5,
}

/** Intel's QE vendor id, 939A7233-F79C-4CA9-940A-0DB3957F0607. */
export const INTEL_QE_VENDOR_ID = Buffer.from("939a7233f79c4ca9940a0db3957f0607", "hex");
/** MRSIGNER of Intel's production QE3 (the debug build's differs). */
export const INTEL_QE3_MRSIGNER = Buffer.from("8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff", "hex");
export const INTEL_QE3_ISV_PROD_ID = 1;

/**
 * The default ECDSA P-256 attestation key id (DCAP sgx_ql_core_wrapper.cpp): Intel's QE3 MRSIGNER,
 * prod id 1, algorithm 2, everything else zero. Shared: copy before mutating.
 */
export const DEFAULT_ECDSA_ATT_KEY_ID: Buffer = encodeAttKeyIdExt({
  base: {
    id: 0,
    version: 0,
    mrSignerLength: 32,
    mrSigner: Buffer.concat([INTEL_QE3_MRSIGNER, Buffer.alloc(16)]),
    prodId: INTEL_QE3_ISV_PROD_ID,
    extendedProdId: Buffer.alloc(16),
    configId: Buffer.alloc(64),
    familyId: Buffer.alloc(16),
    algorithmId: ALGORITHM_ID_ECDSA_P256,
  },
  spid: Buffer.alloc(16),
  attKeyType: 0,
  reserved: Buffer.alloc(80),
});
