// aesmd's key-id rule for InitQuoteEx, GetQuoteSizeEx and GetQuoteEx: at least 256 bytes, and the
// 158-byte base must equal that of a supported key.
import { AesmError } from "../../aesm/error-codes.js";
import { ATT_KEY_ID_BASE_SIZE, ATT_KEY_ID_SIZE } from "../../aesm/sizes.js";
import { QuotingError } from "../../quoting/backend.js";

export function sameBase(a: Buffer, b: Buffer): boolean {
  return a.subarray(0, ATT_KEY_ID_BASE_SIZE).equals(b.subarray(0, ATT_KEY_ID_BASE_SIZE));
}

/** The supported key matching `attKeyId`, or QuotingError(UNSUPPORTED_ATT_KEY_ID). */
export function requireSupportedKeyId(attKeyId: Buffer | undefined, supported: readonly Buffer[]): Buffer {
  if (!attKeyId || attKeyId.length < ATT_KEY_ID_SIZE) {
    throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, `att_key_id must be at least ${ATT_KEY_ID_SIZE} bytes, got ${attKeyId?.length ?? "none"}`);
  }
  const match = supported.find((k) => sameBase(k, attKeyId));
  if (!match) throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, "att_key_id matches no supported attestation key");
  return match;
}
