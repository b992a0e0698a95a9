// SelectAttKeyID (19): picks from the caller's sgx_ql_att_key_id_list_t (or from every supported key
// when there is no list) the first key the backend supports, preferring ECDSA P-256 as aesmd does.
import { AesmError } from "../../aesm/error-codes.js";
import { ATT_KEY_ID_LIST_HEADER_SIZE, ATT_KEY_ID_SIZE, MAX_KEY_ID_LIST_ENTRIES } from "../../aesm/sizes.js";
import { ALGORITHM_ID_ECDSA_P256 } from "../../sgx/constants.js";
import { QuotingError } from "../../quoting/backend.js";
import type { Handler } from "./context.js";
import { sameBase } from "./key-ids.js";

const ALGORITHM_ID_OFFSET = 154;

export const selectAttKeyId: Handler<"selectAttKeyId"> = async (req, ctx) => {
  const candidates = req.attKeyIdList === undefined ? [...ctx.supportedKeyIds] : parseList(req.attKeyIdList);
  const supported = candidates.filter((c) => ctx.supportedKeyIds.some((k) => sameBase(k, c)));
  const selected = supported.find((c) => c.readUInt32LE(ALGORITHM_ID_OFFSET) === ALGORITHM_ID_ECDSA_P256) ?? supported[0];
  if (!selected) throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, "no key id in the list is supported");
  return { kind: "selectAttKeyId", errorCode: AesmError.SUCCESS, selectedAttKeyId: Buffer.from(selected) };
};

function parseList(list: Buffer): Buffer[] {
  if (list.length < ATT_KEY_ID_LIST_HEADER_SIZE) throw new QuotingError(AesmError.PARAMETER_ERROR, `att_key_id_list of ${list.length} bytes has no header`);
  const num = list.readUInt32LE(4);
  if (num > MAX_KEY_ID_LIST_ENTRIES) throw new QuotingError(AesmError.PARAMETER_ERROR, `att_key_id_list has ${num} entries, at most ${MAX_KEY_ID_LIST_ENTRIES} allowed`);
  if (list.length !== ATT_KEY_ID_LIST_HEADER_SIZE + num * ATT_KEY_ID_SIZE) {
    throw new QuotingError(AesmError.PARAMETER_ERROR, `att_key_id_list is ${list.length} bytes, ${num} entries need exactly ${ATT_KEY_ID_LIST_HEADER_SIZE + num * ATT_KEY_ID_SIZE}`);
  }
  return Array.from({ length: num }, (_, i) => list.subarray(ATT_KEY_ID_LIST_HEADER_SIZE + i * ATT_KEY_ID_SIZE, ATT_KEY_ID_LIST_HEADER_SIZE + (i + 1) * ATT_KEY_ID_SIZE));
}
