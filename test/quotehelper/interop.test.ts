// Byte-level interop: requests built byte for byte as libsgx_quote_ex builds them, sent raw to
// `confcom quote-helper --simulate`, and the responses read raw, as Intel's client reads them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { ResponseSchema } from "../../src/gen/aesm/messages_pb.js";
import { encodeRequest } from "../../src/aesm/messages.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { appReport, rawRequest, simPlatform, startHelper, tempDir, type HelperProcess } from "./support.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const KEY = DEFAULT_ECDSA_ATT_KEY_ID;
const u16le = (n: number) => Buffer.from([n & 0xff, n >> 8]);

let tmp: ReturnType<typeof tempDir>;
let platform: SimPlatform;
let helper: HelperProcess;

before(async () => {
  tmp = tempDir("qh-interop-");
  platform = await simPlatform(tmp.dir);
  helper = await startHelper(platform.dir, path.join(tmp.dir, "run/aesmd/aesm.socket"), ["--workers", "1"]);
});
after(async () => {
  assert.equal(await helper.stop(), 0);
  tmp.cleanup();
});

/** Request field 15/16/17... with a sub-message body, framed by hand. */
function request(field: number, body: Buffer): Buffer {
  const tag = (field << 3) | 2;
  const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >> 7)]);
  return Buffer.concat([Buffer.from([...varint(tag), ...varint(body.length)]), body]);
}
const bytesField = (no: number, b: Buffer) => request(no, b);
const TIMEOUT_15000 = hex("48 98 75");

async function call(payload: Buffer) {
  const res = await rawRequest(helper.socket, payload);
  assert.ok(res, "expected a response frame");
  return res;
}

test("GetQuoteSizeEx as the fact sheet's 266 bytes: errorCode 0 is on the wire, then quote_size", async () => {
  const req = request(16, Buffer.concat([bytesField(1, KEY), TIMEOUT_15000]));
  assert.equal(req.length, 266);
  assert.deepEqual(req.subarray(0, 7), hex("82 01 86 02 0a 80 02"));
  const res = await call(req);
  assert.deepEqual(res.subarray(0, 5), hex("82 01 05 08 00"), "field 16, errorCode 0 present");
  const quoteSize = fromBinary(ResponseSchema, res).getQuoteSizeExRes!.quoteSize;
  assert.ok(quoteSize > 1020, `quote size ${quoteSize}`);
});

test("InitQuoteEx size-only (b_pub_key_id=false, garbage buf_size): all-zero target info and pub_key_id_size 32", async () => {
  // libsgx_dcap_ql sends an uninitialized size_t here: any value must be ignored.
  const req = request(15, Buffer.concat([bytesField(1, KEY), hex("18 00 20 ef fd b6 f5 0d"), TIMEOUT_15000]));
  const res = await call(req);
  const r = fromBinary(ResponseSchema, res).initQuoteExRes!;
  assert.equal(r.errorCode, 0);
  assert.deepEqual(Buffer.from(r.targetInfo), Buffer.alloc(512));
  assert.equal(r.pubKeyIdSize, 32n);
  assert.equal(r.pubKeyId.length, 0);
  // 7a <len 519 = 87 04> 08 00 (errorCode 0) 12 80 04 <512 zero bytes> 18 20 (pub_key_id_size 32)
  assert.deepEqual(res.subarray(0, 8), hex("7a 87 04 08 00 12 80 04"));
  assert.deepEqual(res.subarray(-2), hex("18 20"));
  assert.equal(res.length, 8 + 512 + 2);
});

test("InitQuoteEx with a 32-byte buffer: the QE's target info and a 32-byte pub_key_id", async () => {
  const res = await call(request(15, Buffer.concat([bytesField(1, KEY), hex("18 01 20 20"), TIMEOUT_15000])));
  const r = fromBinary(ResponseSchema, res).initQuoteExRes!;
  assert.equal(r.errorCode, 0);
  assert.equal(r.targetInfo.length, 512);
  assert.notDeepEqual(Buffer.from(r.targetInfo), Buffer.alloc(512));
  assert.equal(r.pubKeyIdSize, 32n);
  assert.equal(r.pubKeyId.length, 32);
});

test("GetQuoteEx: the quote buffer is exactly buf_size bytes, zero-filled past the quote; qe_report_info echoed", async () => {
  const ti = Buffer.from(fromBinary(ResponseSchema, await call(request(15, Buffer.concat([bytesField(1, KEY), hex("18 01 20 20")])))).initQuoteExRes!.targetInfo);
  const quoteSize = fromBinary(ResponseSchema, await call(request(16, bytesField(1, KEY)))).getQuoteSizeExRes!.quoteSize;
  const report = appReport(platform, ti);
  const qeReportInfo = Buffer.concat([Buffer.alloc(16, 0x5a), ti, Buffer.alloc(432)]);
  const bufSize = quoteSize + 100;
  const req = encodeRequest({ kind: "getQuoteEx", report, attKeyId: KEY, qeReportInfo, bufSize, timeout: 15000 });
  const r = fromBinary(ResponseSchema, await call(Buffer.from(req))).getQuoteExRes!;
  assert.equal(r.errorCode, 0);
  assert.equal(r.quote.length, bufSize);
  assert.deepEqual(Buffer.from(r.quote.subarray(quoteSize)), Buffer.alloc(100));
  assert.equal(Buffer.from(r.quote).readUInt16LE(0), 3, "quote v3 at the start");
  assert.equal(r.qeReportInfo.length, 960);
  assert.deepEqual(Buffer.from(r.qeReportInfo.subarray(0, 528)), qeReportInfo.subarray(0, 528));
  assert.notDeepEqual(Buffer.from(r.qeReportInfo.subarray(528)), Buffer.alloc(432), "qe_report filled");
});

test("GetQuoteEx refusals: short buffer, wrong report or qe_report_info size, unknown key", async () => {
  const quoteSize = fromBinary(ResponseSchema, await call(request(16, bytesField(1, KEY)))).getQuoteSizeExRes!.quoteSize;
  const code = async (fields: Parameters<typeof encodeRequest>[0]) => fromBinary(ResponseSchema, await call(Buffer.from(encodeRequest(fields)))).getQuoteExRes!.errorCode;
  const report = Buffer.alloc(432);
  assert.equal(await code({ kind: "getQuoteEx", report, attKeyId: KEY, bufSize: quoteSize - 1 }), 3);
  assert.equal(await code({ kind: "getQuoteEx", report: Buffer.alloc(431), attKeyId: KEY, bufSize: quoteSize }), 3);
  assert.equal(await code({ kind: "getQuoteEx", report, attKeyId: KEY, qeReportInfo: Buffer.alloc(959), bufSize: quoteSize }), 3);
  assert.equal(await code({ kind: "getQuoteEx", report, attKeyId: Buffer.alloc(256), bufSize: quoteSize }), 38);
  assert.equal(await code({ kind: "getQuoteEx", report, attKeyId: KEY.subarray(0, 255), bufSize: quoteSize }), 38);
  assert.equal(await code({ kind: "getQuoteEx", report, bufSize: quoteSize }), 38);
  // a forged report (MAC does not verify for the QE)
  assert.equal(await code({ kind: "getQuoteEx", report, attKeyId: KEY, bufSize: quoteSize }), 47);
});

test("key ids match on the 158-byte base only; other bases are UNSUPPORTED_ATT_KEY_ID on 15 and 16", async () => {
  const tail = Buffer.from(KEY);
  tail.fill(0xee, 158);
  const size = async (id: Buffer) => fromBinary(ResponseSchema, await call(request(16, bytesField(1, id))));
  assert.equal((await size(tail)).getQuoteSizeExRes!.errorCode, 0);
  const other = Buffer.from(KEY);
  other.writeUInt32LE(3, 154); // algorithm_id = ECDSA P-384
  assert.equal((await size(other)).getQuoteSizeExRes!.errorCode, 38);
  const init = fromBinary(ResponseSchema, await call(request(15, Buffer.concat([bytesField(1, other), hex("18 00")])))).initQuoteExRes!;
  assert.equal(init.errorCode, 38);
});

test("a key id longer than 256 bytes is read as its first 256, as the QE reads it: quotes are served", async () => {
  const ti = Buffer.from(fromBinary(ResponseSchema, await call(request(15, Buffer.concat([bytesField(1, KEY), hex("18 01 20 20")])))).initQuoteExRes!.targetInfo);
  const long = Buffer.concat([KEY, Buffer.alloc(60_000, 0xab)]);
  const quoteSize = fromBinary(ResponseSchema, await call(request(16, bytesField(1, long)))).getQuoteSizeExRes!.quoteSize;
  const req = encodeRequest({ kind: "getQuoteEx", report: appReport(platform, ti), attKeyId: long, bufSize: quoteSize, timeout: 15000 });
  const r = fromBinary(ResponseSchema, await call(Buffer.from(req))).getQuoteExRes!;
  assert.equal(r.errorCode, 0);
  assert.equal(r.quote.length, quoteSize);
});

test("GetSupportedAttKeyIDNum and GetSupportedAttKeyIDs (buf_size must be num x 256)", async () => {
  const num = fromBinary(ResponseSchema, await call(request(21, TIMEOUT_15000))).getSupportedAttKeyIDNumRes!;
  assert.deepEqual([num.errorCode, num.attKeyIdNum], [0, 1]);
  const ids = fromBinary(ResponseSchema, await call(request(22, Buffer.concat([hex("08 80 02"), TIMEOUT_15000])))).getSupportedAttKeyIDsRes!;
  assert.equal(ids.errorCode, 0);
  assert.deepEqual(Buffer.from(ids.attKeyIds), KEY);
  const wrong = fromBinary(ResponseSchema, await call(request(22, hex("08 ff 01")))).getSupportedAttKeyIDsRes!;
  assert.equal(wrong.errorCode, 3);
});

test("SelectAttKeyID: no list = the supported key; lists must be exactly 8 + 256n with n <= 10", async () => {
  const select = async (body: Buffer) => fromBinary(ResponseSchema, await call(request(19, body))).selectAttKeyIDRes!;
  const none = await select(hex("10 98 75")); // timeout is field 2 here
  assert.deepEqual([none.errorCode, Buffer.from(none.selectedAttKeyId).equals(KEY)], [0, true]);
  const other = Buffer.from(KEY);
  other.writeUInt32LE(3, 154);
  const list = (n: number, ...ids: Buffer[]) => Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from(Uint32Array.of(n).buffer), ...ids]);
  const picked = await select(bytesField(1, list(2, other, KEY)));
  assert.deepEqual([picked.errorCode, Buffer.from(picked.selectedAttKeyId).equals(KEY)], [0, true]);
  assert.equal((await select(bytesField(1, list(1, other)))).errorCode, 38);
  assert.equal((await select(bytesField(1, Buffer.concat([list(2, KEY, KEY), Buffer.from([0])])))).errorCode, 3);
  assert.equal((await select(bytesField(1, list(11, ...Array(11).fill(KEY))))).errorCode, 3);
  assert.equal((await select(bytesField(1, u16le(0)))).errorCode, 3);
});

test("legacy EPID/launch requests get their own sub-message with SERVICE_UNAVAILABLE (30)", async () => {
  const cases: [number, Buffer][] = [
    [1, TIMEOUT_15000],
    [2, hex("0a 00 10 00 1a 00 30 00")],
    [3, hex("0a 00 12 00 1a 00")],
    [4, hex("0a 00 10 00 18 00")],
    [10, Buffer.alloc(0)],
    [11, Buffer.alloc(0)],
    [12, Buffer.alloc(0)],
    [13, Buffer.alloc(0)],
    [14, hex("0a 00 10 00")],
    [18, hex("10 00 18 00")],
  ];
  for (const [no, body] of cases) {
    const res = await call(request(no, body));
    const tag = (no << 3) | 2;
    assert.equal(res[0] & 0x7f, tag & 0x7f, `field ${no}`);
    assert.deepEqual(res.subarray(-3), hex("02 08 1e"), `field ${no}: errorCode 30`);
  }
});

test("unparseable frames: the connection is closed with no response", async () => {
  for (const payload of [hex(""), hex("ff ff ff"), hex("7a 00"), hex("a2 06 00"), hex("aa 01 00 82 01 00")]) {
    assert.equal(await rawRequest(helper.socket, payload), undefined, payload.toString("hex"));
  }
  assert.ok(await rawRequest(helper.socket, request(21, Buffer.alloc(0))), "still serving");
});
