// QuoteExClient against a scripted unix-socket peer: the bytes it sends are Intel's, and each failure
// becomes the sgx_status_t Intel's client returns.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { QuoteExClient, QuoteExError } from "../../src/aesm/client.js";
import { SgxStatus } from "../../src/aesm/error-codes.js";
import { encodeFrame, readFrame } from "../../src/aesm/framing.js";
import { decodeRequest, encodeResponse, type AesmRequest, type AesmResponse } from "../../src/aesm/messages.js";
import { AesmQuotingBackend } from "../../src/aesm/quoting-backend.js";
import { QuotingError } from "../../src/quoting/backend.js";
import { AesmError } from "../../src/aesm/error-codes.js";

const keyId = Buffer.alloc(256, 1);

/** A peer that records each request's raw bytes and answers with `reply(request)` (or stays silent). */
async function peer(reply: (req: AesmRequest) => AesmResponse | "silent") {
  const dir = mkdtempSync(path.join(os.tmpdir(), "aesm-client-"));
  const socketPath = path.join(dir, "s");
  const seen: Buffer[] = [];
  const server = net.createServer((s) => {
    void readFrame(s, { maxSize: 1 << 20, timeoutMs: 5000 }).then((payload) => {
      seen.push(payload);
      const r = reply(decodeRequest(payload));
      if (r !== "silent") s.end(encodeFrame(encodeResponse(r)));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => (rmSync(dir, { recursive: true, force: true }), resolve()))),
  };
}

const expectStatus = (status: SgxStatus, aesmCode?: number) => (e: unknown) =>
  e instanceof QuoteExError && e.status === status && e.aesmCode === aesmCode && e.message.startsWith(SgxStatus[status]);

test("requests carry 256-byte key ids, timeout 15000, and buf_size only when non-zero", async (t) => {
  const p = await peer((req) =>
    req.kind === "initQuoteEx"
      ? { kind: "initQuoteEx", errorCode: 0, targetInfo: Buffer.alloc(512), pubKeyIdSize: 32n, pubKeyId: req.bPubKeyId ? Buffer.alloc(32, 5) : undefined }
      : { kind: "getQuoteSizeEx", errorCode: 0, quoteSize: 4600 },
  );
  t.after(() => p.close());
  const c = new QuoteExClient({ socketPath: p.socketPath });
  const sizeOnly = await c.initQuoteEx(keyId);
  assert.equal(sizeOnly.pubKeyIdSize, 32);
  assert.equal(sizeOnly.pubKeyId, undefined);
  const full = await c.initQuoteEx(keyId, 32);
  assert.deepEqual(full.pubKeyId, Buffer.alloc(32, 5));
  assert.equal(await c.getQuoteSizeEx(keyId), 4600);
  // size-only: att_key_id (256), b_pub_key_id=false, timeout 15000; no buf_size field (tag 0x20).
  const bytes = (h: string) => Buffer.from(h.replace(/ /g, ""), "hex");
  assert.deepEqual(p.seen[0], Buffer.concat([bytes("7a 88 02 0a 80 02"), keyId, bytes("18 00 48 98 75")]));
  assert.ok(p.seen[1].includes(Buffer.from([0x18, 0x01, 0x20, 0x20, 0x48, 0x98, 0x75])));
  assert.deepEqual(p.seen[2], Buffer.concat([Buffer.from([0x82, 0x01, 0x86, 0x02, 0x0a, 0x80, 0x02]), keyId, Buffer.from([0x48, 0x98, 0x75])]));
});

test("AESM error codes map to the sgx_status_t of the operation", async (t) => {
  const p = await peer((req) => ({ kind: req.kind, errorCode: req.kind === "getQuoteSizeEx" ? AesmError.UNSUPPORTED_ATT_KEY_ID : AesmError.BUSY }) as AesmResponse);
  t.after(() => p.close());
  const c = new QuoteExClient({ socketPath: p.socketPath });
  await assert.rejects(c.getQuoteSizeEx(keyId), expectStatus(SgxStatus.SGX_ERROR_UNSUPPORTED_ATT_KEY_ID, 38));
  await assert.rejects(c.getSupportedAttKeyIdNum(), expectStatus(SgxStatus.SGX_ERROR_BUSY, 18));
});

test("a response without the matching sub-message is SGX_ERROR_UNEXPECTED", async (t) => {
  const p = await peer(() => ({ kind: "getQuoteSizeEx", errorCode: 0, quoteSize: 1 }));
  t.after(() => p.close());
  await assert.rejects(new QuoteExClient({ socketPath: p.socketPath }).getSupportedAttKeyIdNum(), expectStatus(SgxStatus.SGX_ERROR_UNEXPECTED));
});

test("a quote longer than the caller's buffer is refused, as Intel's GetValues does", async (t) => {
  const p = await peer(() => ({ kind: "getQuoteEx", errorCode: 0, quote: Buffer.alloc(101) }));
  t.after(() => p.close());
  await assert.rejects(new QuoteExClient({ socketPath: p.socketPath }).getQuoteEx(Buffer.alloc(432), keyId, 100), expectStatus(SgxStatus.SGX_ERROR_UNEXPECTED));
});

test("no service: SERVICE_UNAVAILABLE; a silent one: SERVICE_TIMEOUT", async (t) => {
  await assert.rejects(new QuoteExClient({ socketPath: "/nonexistent/aesm.socket" }).getSupportedAttKeyIdNum(), expectStatus(SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE, 30));
  const p = await peer(() => "silent");
  t.after(() => p.close());
  await assert.rejects(new QuoteExClient({ socketPath: p.socketPath, timeoutMs: 300 }).getSupportedAttKeyIdNum(), expectStatus(SgxStatus.SGX_ERROR_SERVICE_TIMEOUT));
});

test("AesmQuotingBackend: init_quote_ex twice like libsgx_dcap_ql, errors as QuotingError", async (t) => {
  const p = await peer((req) => {
    if (req.kind === "initQuoteEx") return { kind: "initQuoteEx", errorCode: 0, targetInfo: Buffer.alloc(512, req.bPubKeyId ? 2 : 0), pubKeyIdSize: 32n, pubKeyId: req.bPubKeyId ? Buffer.alloc(32, 9) : undefined };
    return { kind: req.kind, errorCode: AesmError.INVALID_REPORT } as AesmResponse;
  });
  t.after(() => p.close());
  const b = new AesmQuotingBackend({ socketPath: p.socketPath });
  const r = await b.initQuote(keyId);
  assert.deepEqual(r, { targetInfo: Buffer.alloc(512, 2), pubKeyId: Buffer.alloc(32, 9) });
  assert.equal(p.seen.length, 2);
  await assert.rejects(b.quoteSize(keyId), (e: unknown) => e instanceof QuotingError && e.code === AesmError.INVALID_REPORT);
  await assert.rejects(new AesmQuotingBackend({ socketPath: "/nonexistent/s" }).quoteSize(keyId), (e: unknown) => e instanceof QuotingError && e.code === AesmError.SERVICE_UNAVAILABLE);
});
