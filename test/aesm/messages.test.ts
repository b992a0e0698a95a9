import { test } from "node:test";
import assert from "node:assert/strict";
import { AesmDecodeError, decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "../../src/aesm/messages.js";
import { REQUEST_KINDS } from "../../src/aesm/kinds.js";
import { encodeFrame } from "../../src/aesm/framing.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const keyId = Buffer.alloc(256, 0xab);

test("GetQuoteSizeEx request encodes as the fact sheet's 266 bytes", () => {
  const bytes = Buffer.from(encodeRequest({ kind: "getQuoteSizeEx", attKeyId: keyId, timeout: 15000 }));
  assert.equal(bytes.length, 266);
  assert.deepEqual(bytes.subarray(0, 7), hex("82 01 86 02 0a 80 02"));
  assert.deepEqual(bytes.subarray(7, 263), keyId);
  assert.deepEqual(bytes.subarray(263), hex("48 98 75"));
});

test("InitQuoteEx request encodes as the fact sheet's example and decodes back", () => {
  const wire = hex("7a 0a 0a 01 41 18 01 20 20 48 98 75");
  assert.deepEqual(Buffer.from(encodeRequest({ kind: "initQuoteEx", attKeyId: Buffer.from("A"), bPubKeyId: true, bufSize: 32n, timeout: 15000 })), wire);
  assert.deepEqual(decodeRequest(wire), { kind: "initQuoteEx", attKeyId: Buffer.from("A"), bPubKeyId: true, bufSize: 32n, timeout: 15000 });
});

test("an absent optional field stays absent: size-only InitQuoteEx has no buf_size", () => {
  const req = decodeRequest(encodeRequest({ kind: "initQuoteEx", attKeyId: keyId, bPubKeyId: false, timeout: 15000 }));
  assert.equal(req.kind, "initQuoteEx");
  assert.ok(!("bufSize" in req));
});

test("responses always carry errorCode, even 0: the fact sheet's GetQuoteSizeEx response", () => {
  assert.deepEqual(Buffer.from(encodeResponse({ kind: "getQuoteSizeEx", errorCode: 0, quoteSize: 4600 })), hex("82 01 05 08 00 10 f8 23"));
  assert.deepEqual(decodeResponse(hex("82 01 05 08 00 10 f8 23"), "getQuoteSizeEx"), { kind: "getQuoteSizeEx", errorCode: 0, quoteSize: 4600 });
});

test("every kind's response goes under the request's field number", () => {
  for (const [kind, { no }] of Object.entries(REQUEST_KINDS)) {
    const bytes = Buffer.from(encodeResponse({ kind, errorCode: 0 } as never));
    const tag = (no << 3) | 2;
    const expected = tag < 0x80 ? [tag] : [(tag & 0x7f) | 0x80, tag >> 7];
    assert.deepEqual([...bytes.subarray(0, expected.length)], expected, kind);
    assert.deepEqual([...bytes.subarray(expected.length)], [2, 0x08, 0x00], kind);
  }
});

test("undecodable requests are precise errors", () => {
  const cases: [string, Buffer, RegExp][] = [
    ["empty", Buffer.alloc(0), /no known sub-message/],
    ["unknown field only", hex("a2 06 00"), /no known sub-message/],
    ["garbage", hex("ff ff ff ff"), /not a protobuf Request/],
    ["missing required b_pub_key_id", hex("7a 00"), /initQuoteExReq\.b_pub_key_id is required/],
    ["missing required report", hex("8a 01 02 20 01"), /getQuoteExReq\.report is required/],
    ["two sub-messages", hex("aa 01 00 82 01 00"), /2 sub-messages/],
  ];
  for (const [name, bytes, re] of cases) assert.throws(() => decodeRequest(bytes), (e: unknown) => e instanceof AesmDecodeError && re.test(e.message), name);
});

test("a response without the expected sub-message is an error", () => {
  assert.throws(() => decodeResponse(hex("82 01 05 08 00 10 f8 23"), "initQuoteEx"), /no initQuoteExRes/);
  assert.throws(() => decodeResponse(hex("82 01 02 10 01"), "getQuoteSizeEx"), /errorCode is required/);
});

test("the hand-written GetQuoteEx response encoder writes protobuf-es's bytes, framed; padding stays virtual", async () => {
  const { create, toBinary } = await import("@bufbuild/protobuf");
  const { ResponseSchema } = await import("../../src/gen/aesm/messages_pb.js");
  const { encodeResponseFrame } = await import("../../src/aesm/messages.js");
  const quote = Buffer.alloc(4678, 0x33);
  const qri = Buffer.alloc(960, 0x44);
  const cases = [
    { errorCode: 0, quote, qeReportInfo: qri },
    { errorCode: 0, quote },
    { errorCode: 3 },
    { errorCode: 200, qeReportInfo: qri },
    { errorCode: 0, quote: Buffer.alloc(0) },
    { errorCode: 0, quote: Buffer.alloc(100), qeReportInfo: Buffer.alloc(0) },
    { errorCode: 0, quote, qeReportInfo: qri, quoteBufferSize: quote.length },
  ];
  for (const c of cases) {
    const { quoteBufferSize: _, ...fields } = c as typeof c & { quoteBufferSize?: number };
    const expected = Buffer.from(toBinary(ResponseSchema, create(ResponseSchema, { getQuoteExRes: fields })));
    assert.deepEqual(Buffer.from(encodeResponse({ kind: "getQuoteEx", ...c })), expected, JSON.stringify(Object.keys(c)));
    const frame = encodeResponseFrame({ kind: "getQuoteEx", ...c });
    assert.equal(frame.zeros + frame.tail.length, 0, "no padding: the whole frame is one buffer");
    assert.deepEqual(Buffer.from(frame.head), encodeFrame(expected));
  }
  for (const qeReportInfo of [undefined, qri]) {
    const padded = { errorCode: 0, quote: Buffer.concat([quote, Buffer.alloc(1024 * 1024 - quote.length)]), qeReportInfo };
    const expected = Buffer.from(toBinary(ResponseSchema, create(ResponseSchema, { getQuoteExRes: padded })));
    const frame = encodeResponseFrame({ kind: "getQuoteEx", errorCode: 0, quote, qeReportInfo, quoteBufferSize: 1024 * 1024 });
    assert.equal(frame.zeros, 1024 * 1024 - quote.length);
    assert.ok(frame.head.length + frame.tail.length < 8 * 1024, "only the quote and qe_report_info are materialised");
    assert.deepEqual(Buffer.concat([frame.head, Buffer.alloc(frame.zeros), frame.tail]), encodeFrame(expected));
    assert.deepEqual(decodeResponse(expected, "getQuoteEx").quote?.length, 1024 * 1024);
  }
});
