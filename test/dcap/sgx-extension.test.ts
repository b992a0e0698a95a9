// The SGX extension decoder (a DER walk) against the schema-based encoder, and strictly against
// hand-built malformed values: each is refused with an SgxExtensionError naming what is wrong.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeSgxExtension, encodeSgxExtension, SgxExtensionError, SgxOid, SgxType, type SgxExtensionValues } from "../../src/dcap/sgx-extension.js";

const processor: SgxExtensionValues = {
  ppid: Buffer.alloc(16, 0xab),
  components: [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128],
  pceSvn: 0xffff,
  cpuSvn: Buffer.from([11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128]),
  pceId: Buffer.from("0000", "hex"),
  fmspc: Buffer.from("00606a000000", "hex"),
  sgxType: SgxType.Standard,
};
const platform: SgxExtensionValues = {
  ...processor,
  sgxType: SgxType.Scalable,
  platformInstanceId: Buffer.alloc(16, 7),
  configuration: { dynamicPlatform: true, cachedKeys: false, smtEnabled: true },
};

// Hand-built DER, so the malformed cases are exactly what they say.
const len = (n: number) => (n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]));
const tlv = (tag: number, ...content: Buffer[]) => {
  const c = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(c.length), c]);
};
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
};
const entry = (id: string, value: Buffer) => tlv(0x30, oid(id), value);
const int = (n: number) => tlv(0x02, n >= 0x80 ? Buffer.from([0, n]) : Buffer.from([n]));
const octs = (b: Buffer) => tlv(0x04, b);

function tcbEntries(over: Partial<Record<string, Buffer>> = {}): Buffer[] {
  const e = processor.components.map((svn, i) => entry(SgxOid.tcbComponent(i), over[SgxOid.tcbComponent(i)] ?? int(svn)));
  e.push(entry(SgxOid.pceSvn, over[SgxOid.pceSvn] ?? tlv(0x02, Buffer.from([0x00, 0xff, 0xff]))), entry(SgxOid.cpuSvn, over[SgxOid.cpuSvn] ?? octs(processor.cpuSvn)));
  return e;
}
function top(over: Partial<Record<string, Buffer>> = {}, extra: Buffer[] = []): Buffer {
  return tlv(
    0x30,
    entry(SgxOid.ppid, over[SgxOid.ppid] ?? octs(processor.ppid)),
    entry(SgxOid.tcb, over[SgxOid.tcb] ?? tlv(0x30, ...tcbEntries())),
    entry(SgxOid.pceId, over[SgxOid.pceId] ?? octs(processor.pceId)),
    entry(SgxOid.fmspc, over[SgxOid.fmspc] ?? octs(processor.fmspc)),
    entry(SgxOid.sgxType, over[SgxOid.sgxType] ?? tlv(0x0a, Buffer.from([0]))),
    ...extra,
  );
}

const refuses = (der: Buffer, message: RegExp) =>
  assert.throws(() => decodeSgxExtension(der), (e: unknown) => e instanceof SgxExtensionError && message.test(e.message), message.source);

describe("SGX extension codec", () => {
  test("decodes what the encoder writes, processor and platform forms", () => {
    assert.deepEqual(decodeSgxExtension(encodeSgxExtension(processor)), processor);
    assert.deepEqual(decodeSgxExtension(encodeSgxExtension(platform)), platform);
  });

  test("the hand-built value decodes as the encoder's does, from a view into a larger buffer", () => {
    const der = top();
    assert.deepEqual(der, Buffer.from(encodeSgxExtension(processor)));
    const inside = Buffer.concat([Buffer.from([1, 2, 3]), der, Buffer.from([4])]).subarray(3, 3 + der.length);
    assert.deepEqual(decodeSgxExtension(inside), processor);
  });

  test("returned buffers are copies, not views into the certificate", () => {
    const der = top();
    const v = decodeSgxExtension(der);
    der.fill(0);
    assert.deepEqual(v.fmspc, processor.fmspc);
  });

  test("malformed DER is refused", () => {
    const der = top();
    refuses(der.subarray(0, der.length - 1), /value is malformed/);
    refuses(Buffer.concat([der, Buffer.from([0])]), /value is malformed: trailing bytes/);
    refuses(tlv(0x31, top().subarray(2)), /top level is malformed: not a SEQUENCE/);
    refuses(tlv(0x30, tlv(0x30, oid(SgxOid.ppid))), /an entry is not SEQUENCE \{ OID, value \}/);
    refuses(top({ [SgxOid.tcb]: tlv(0x30, ...tcbEntries(), Buffer.from([0x30])) }), /TCB is malformed/);
  });

  test("entries: unknown, duplicate, missing, wrong count", () => {
    refuses(top({}, [entry("1.2.840.113741.1.13.1.99", octs(Buffer.alloc(1)))]), /top level: unexpected entry 1\.2\.840\.113741\.1\.13\.1\.99/);
    refuses(top({}, [entry(SgxOid.fmspc, octs(processor.fmspc))]), /top level: duplicate entry/);
    refuses(top({}, [entry(SgxOid.platformInstanceId, octs(Buffer.alloc(16)))]), /must have 5 \(processor\) or 7 \(platform\) entries, got 6/);
    refuses(top({ [SgxOid.tcb]: tlv(0x30, ...tcbEntries().slice(1)) }), /TCB must have 18 entries, got 17/);
    const noPpid = tlv(0x30, entry(SgxOid.platformInstanceId, octs(Buffer.alloc(16))), entry(SgxOid.tcb, tlv(0x30, ...tcbEntries())), entry(SgxOid.pceId, octs(processor.pceId)), entry(SgxOid.fmspc, octs(processor.fmspc)), entry(SgxOid.sgxType, tlv(0x0a, Buffer.from([0]))));
    refuses(noPpid, /missing entry 1\.2\.840\.113741\.1\.13\.1\.1$/);
  });

  test("values: types, sizes and ranges", () => {
    refuses(top({ [SgxOid.fmspc]: octs(Buffer.alloc(5)) }), /entry 1\.2\.840\.113741\.1\.13\.1\.4 must be 6 bytes, got 5/);
    refuses(top({ [SgxOid.fmspc]: tlv(0x0c, Buffer.alloc(6)) }), /1\.2\.840\.113741\.1\.13\.1\.4 is malformed: tag 0xc, expected 0x4/);
    refuses(top({ [SgxOid.sgxType]: tlv(0x0a, Buffer.from([9])) }), /unknown SGX type 9/);
    refuses(top({ [SgxOid.sgxType]: int(0) }), /is malformed: tag 0x2, expected 0xa/);
    const comp0 = SgxOid.tcbComponent(0);
    refuses(top({ [SgxOid.tcb]: tlv(0x30, ...tcbEntries({ [comp0]: tlv(0x02, Buffer.from([0x01, 0x00])) })) }), /must be an integer in \[0, 255\], got 256/);
    refuses(top({ [SgxOid.tcb]: tlv(0x30, ...tcbEntries({ [comp0]: tlv(0x02, Buffer.from([0xff])) })) }), /must be an integer in \[0, 255\], got a negative number/);
    refuses(top({ [SgxOid.tcb]: tlv(0x30, ...tcbEntries({ [comp0]: tlv(0x02, Buffer.alloc(0)) })) }), /0-byte integer/);
    refuses(top({ [SgxOid.tcb]: tlv(0x30, ...tcbEntries({ [SgxOid.pceSvn]: tlv(0x02, Buffer.from([0x01, 0x00, 0x00])) })) }), /\[0, 65535\], got 65536/);
  });

  test("the platform configuration's booleans", () => {
    const der = Buffer.from(encodeSgxExtension(platform));
    const at = der.lastIndexOf(Buffer.from([0x01, 0x01, 0xff]));
    assert.ok(at > 0);
    const bad = Buffer.concat([der.subarray(0, at), Buffer.from([0x02, 0x01, 0x01]), der.subarray(at + 3)]);
    refuses(bad, /is malformed: tag 0x2, expected 0x1/);
  });
});
