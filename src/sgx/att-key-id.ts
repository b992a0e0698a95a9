// Attestation key ids: sgx_ql_att_key_id_t (158, the part keys are matched on), sgx_att_key_id_ext_t
// (256) and the sgx_ql_att_key_id_list_t that SelectAttKeyID takes. Fact sheet section 4.
import { ByteReader, ByteWriter, bytes, decodeExact, encodeExact, struct, u16, u32 } from "./bytes.js";
import type { AttKeyIdBase, AttKeyIdExt, AttKeyIdList } from "./types.js";

export const ATT_KEY_ID_BASE = struct<AttKeyIdBase>("attestation key id", {
  id: u16,
  version: u16,
  mrSignerLength: u16,
  mrSigner: bytes(48),
  prodId: u32,
  extendedProdId: bytes(16),
  configId: bytes(64),
  familyId: bytes(16),
  algorithmId: u32,
});

export const ATT_KEY_ID_EXT = struct<AttKeyIdExt>("attestation key id ext", {
  base: ATT_KEY_ID_BASE,
  spid: bytes(16),
  attKeyType: u16,
  reserved: bytes(80),
});

export const decodeAttKeyIdBase = (buf: Buffer): AttKeyIdBase => decodeExact(ATT_KEY_ID_BASE, buf);
export const encodeAttKeyIdBase = (base: AttKeyIdBase): Buffer => encodeExact(ATT_KEY_ID_BASE, base);
export const decodeAttKeyIdExt = (buf: Buffer): AttKeyIdExt => decodeExact(ATT_KEY_ID_EXT, buf);
export const encodeAttKeyIdExt = (ext: AttKeyIdExt): Buffer => encodeExact(ATT_KEY_ID_EXT, ext);

const LIST_HEADER_SIZE = 8;
const LIST = "attestation key id list";

/**
 * sgx_ql_att_key_id_list_t: header {u16 id, u16 version, u32 num} then num x 256-byte key ids. The total
 * must be exactly 8 + 256 * num, as aesmd requires; policy limits (num <= 10) are the caller's.
 */
export function decodeAttKeyIdList(buf: Buffer): AttKeyIdList {
  const r = new ByteReader(buf, LIST);
  const header = { id: r.u16("header.id"), version: r.u16("header.version"), numAttIds: r.u32("header.num_att_ids") };
  const keyIds: AttKeyIdExt[] = [];
  const need = header.numAttIds * ATT_KEY_ID_EXT.size;
  if (need > r.remaining) r.need(`att_key_ids (${header.numAttIds} x ${ATT_KEY_ID_EXT.size})`, need);
  for (let i = 0; i < header.numAttIds; i++) keyIds.push(r.scoped(`att_key_ids[${i}]`, () => ATT_KEY_ID_EXT.readFields(r)));
  r.expectEnd();
  return { header, keyIds };
}

export function encodeAttKeyIdList(list: AttKeyIdList): Buffer {
  const w = new ByteWriter(LIST_HEADER_SIZE + list.keyIds.length * ATT_KEY_ID_EXT.size, LIST);
  if (list.header.numAttIds !== list.keyIds.length) w.fail("header.num_att_ids", `is ${list.header.numAttIds} but ${list.keyIds.length} key ids are given`);
  w.u16("header.id", list.header.id);
  w.u16("header.version", list.header.version);
  w.u32("header.num_att_ids", list.header.numAttIds);
  list.keyIds.forEach((k, i) => ATT_KEY_ID_EXT.write(w, `att_key_ids[${i}]`, k));
  return w.done();
}
