import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameDecoder, FrameError, encodeFrame } from "../../src/aesm/framing.js";

test("a frame split at every byte boundary decodes to its payload", () => {
  const payload = Buffer.from("0123456789abcdef");
  const frame = encodeFrame(payload);
  assert.deepEqual(frame.subarray(0, 4), Buffer.from([16, 0, 0, 0]));
  for (let cut = 0; cut <= frame.length; cut++) {
    const d = new FrameDecoder(64);
    const first = d.push(frame.subarray(0, cut));
    const got = first ?? d.push(frame.subarray(cut));
    assert.deepEqual(got, payload, `cut at ${cut}`);
  }
});

test("byte-by-byte delivery and an empty payload", () => {
  const d = new FrameDecoder(64);
  const frame = encodeFrame(Buffer.from([9, 8, 7]));
  let got: Buffer | undefined;
  for (const b of frame) got = d.push(Buffer.from([b]));
  assert.deepEqual(got, Buffer.from([9, 8, 7]));
  assert.deepEqual(new FrameDecoder(0).push(encodeFrame(Buffer.alloc(0))), Buffer.alloc(0));
});

test("a length above the limit is refused from the header alone", () => {
  const d = new FrameDecoder(1024);
  assert.throws(() => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), (e: unknown) => e instanceof FrameError && e.reason === "too-large" && /4294967295/.test(e.message));
  assert.throws(() => new FrameDecoder(1024).push(Buffer.from([0x01, 0x04, 0, 0])), /1025 bytes exceeds the limit of 1024/);
  assert.equal(new FrameDecoder(1024).push(Buffer.from([0x00, 0x04, 0, 0])), undefined);
});
