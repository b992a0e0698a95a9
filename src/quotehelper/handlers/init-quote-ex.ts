// InitQuoteEx (15). The size-only call (b_pub_key_id = false) is answered without touching the QE:
// all-zero target info, as sgx_ql_init_quote returns early, and buf_size is ignored because
// libsgx_dcap_ql sends it uninitialized. With b_pub_key_id, buf_size must hold the 32-byte ECDSA_ID.
import { AesmError } from "../../aesm/error-codes.js";
import { PUB_KEY_ID_SIZE, TARGET_INFO_SIZE } from "../../aesm/sizes.js";
import { QuotingError } from "../../quoting/backend.js";
import type { Handler } from "./context.js";
import { requireSupportedKeyId } from "./key-ids.js";

const PUB_KEY_ID_SIZE_N = BigInt(PUB_KEY_ID_SIZE);

export const initQuoteEx: Handler<"initQuoteEx"> = async (req, ctx) => {
  const attKeyId = requireSupportedKeyId(req.attKeyId, ctx.supportedKeyIds);
  if (!req.bPubKeyId) {
    return { kind: "initQuoteEx", errorCode: AesmError.SUCCESS, targetInfo: Buffer.alloc(TARGET_INFO_SIZE), pubKeyIdSize: PUB_KEY_ID_SIZE_N };
  }
  if (req.bufSize !== PUB_KEY_ID_SIZE_N) {
    throw new QuotingError(AesmError.PARAMETER_ERROR, `pub key id buffer is ${req.bufSize ?? 0} bytes, must be ${PUB_KEY_ID_SIZE}`);
  }
  const { targetInfo, pubKeyId } = await ctx.backend.initQuote(attKeyId);
  return { kind: "initQuoteEx", errorCode: AesmError.SUCCESS, targetInfo, pubKeyIdSize: PUB_KEY_ID_SIZE_N, pubKeyId };
};
