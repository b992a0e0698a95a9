import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CertDataType, SgxCodecError, parseQuote, pckChainFromCertData, ppidFromCertData } from "../../src/sgx/index.js";
import { needsIntelSample, sampleQuote } from "./sample.js";

describe("certification data", () => {
  // Read only where the sample is there (or CI=true, where its absence fails the tests that need it).
  const data = needsIntelSample.skip ? Buffer.alloc(0) : parseQuote(sampleQuote()).signatureData.certification.data;
  const chain = (d: Buffer) => pckChainFromCertData({ type: CertDataType.PCK_CERT_CHAIN, data: d });

  it("returns each PEM certificate as a string", needsIntelSample, () => {
    const certs = chain(data);
    assert.equal(certs.length, 3);
    for (const c of certs) assert.match(c, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    assert.equal(certs.join(""), data.toString("latin1", 0, data.length - 1).trimEnd() + "\n");
  });

  it("requires the counted NUL terminator and nothing after it", needsIntelSample, () => {
    assert.throws(() => chain(data.subarray(0, data.length - 1)), (e: unknown) => e instanceof SgxCodecError && /NUL terminator/.test(e.message));
    assert.throws(() => chain(Buffer.concat([data, Buffer.from("x\0")])), /NUL before its end/);
    assert.throws(() => chain(Buffer.alloc(0)), SgxCodecError);
  });

  it("rejects non-PEM content, naming the certificate", needsIntelSample, () => {
    assert.throws(() => chain(Buffer.from("hello\0")), /certificate 1\) is not a PEM CERTIFICATE block at offset 0/);
    const broken = Buffer.from(data);
    broken.write("-----BEGIN PRIVATE KEY-----", data.indexOf("-----BEGIN CERTIFICATE-----", 100));
    assert.throws(() => chain(broken), /certificate 2\) is not a PEM/);
    assert.throws(() => chain(Buffer.from("\n \0")), /holds no PEM certificate/);
  });

  it("refuses other certification data types", needsIntelSample, () => {
    assert.throws(() => pckChainFromCertData({ type: 4, data }), /is 4, a PCK certificate chain is type 5/);
  });

  it("decodes PPID data of types 1-3", () => {
    const d = Buffer.concat([Buffer.alloc(384, 0xaa), Buffer.alloc(16, 0x0b), Buffer.from([0x0f, 0, 0, 0])]);
    assert.deepEqual(ppidFromCertData({ type: 3, data: d }), { ppid: Buffer.alloc(384, 0xaa), cpuSvn: Buffer.alloc(16, 0x0b), pceSvn: 15, pceId: 0 });
    assert.throws(() => ppidFromCertData({ type: 2, data: d }), /trailing/);
    assert.throws(() => ppidFromCertData({ type: 1, data: d.subarray(0, 20) }), /cpu_svn truncated at offset 16: need 16 bytes, have 4/);
    assert.throws(() => ppidFromCertData({ type: 5, data: d }), SgxCodecError);
  });
});
