// Sizes the AESM protocol checks (aesm-and-dcap.md section 4), and aesmd's fixed socket path.
export {
  ATT_KEY_ID_BASE_SIZE,
  ATT_KEY_ID_EXT_SIZE as ATT_KEY_ID_SIZE,
  ATT_KEY_ID_LIST_HEADER_SIZE,
  QE_REPORT_INFO_SIZE,
  REPORT_SIZE,
  TARGET_INFO_SIZE,
} from "../sgx/constants.js";

export const DEFAULT_AESM_SOCKET = "/var/run/aesmd/aesm.socket";
/** libsgx_quote_ex's IPC_LATENCY in release builds: each call's deadline, also sent as its `timeout`. */
export const DEFAULT_IPC_TIMEOUT_MS = 15_000;
/** aesmd's limit on sgx_ql_att_key_id_list_t entries in SelectAttKeyID. */
export const MAX_KEY_ID_LIST_ENTRIES = 10;
/** pub_key_id = ECDSA_ID = SHA-256(attestation public key || QE auth data). */
export const PUB_KEY_ID_SIZE = 32;
