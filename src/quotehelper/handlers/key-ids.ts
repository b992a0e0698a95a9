// aesmd's key-id rule for InitQuoteEx, GetQuoteSizeEx and GetQuoteEx: at least 256 bytes, and the
// 158-byte base must equal that of a supported key. The quoting code reads the key id as one 256-byte
// sgx_att_key_id_ext_t, so later bytes are never used: the backend gets only the first 256, which also
// bounds what a client can make cross to a quoting worker.
import { AesmError } from "../../aesm/error-codes.js";
import { ATT_KEY_ID_BASE_SIZE, ATT_KEY_ID_SIZE } from "../../aesm/sizes.js";
import { QuotingError } from "../../quoting/backend.js";

export function sameBase(a: Buffer, b: Buffer): boolean {
  return a.subarray(0, ATT_KEY_ID_BASE_SIZE).equals(b.subarray(0, ATT_KEY_ID_BASE_SIZE));
}

/** `attKeyId` as the QE gets it (its first 256 bytes) if it matches a supported key, else QuotingError(UNSUPPORTED_ATT_KEY_ID). */
export function requireSupportedKeyId(attKeyId: Buffer | undefined, supported: readonly Buffer[]): Buffer {
  if (!attKeyId || attKeyId.length < ATT_KEY_ID_SIZE) {
    throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, `att_key_id must be at least ${ATT_KEY_ID_SIZE} bytes, got ${attKeyId?.length ?? "none"}`);
  }
  if (!supported.some((k) => sameBase(k, attKeyId))) throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, "att_key_id matches no supported attestation key");
  return attKeyId.subarray(0, ATT_KEY_ID_SIZE);
}
