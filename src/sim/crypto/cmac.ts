// AES-128-CMAC (RFC 4493), the MAC SGX puts on reports, on Node's AES.
import { createCipheriv, type Cipher } from "node:crypto";

const BLOCK = 16;
const ZERO = Buffer.alloc(BLOCK);

/** Doubling in GF(2^128) as RFC 4493 section 2.3 defines it (shift left, xor 0x87 on carry). */
function dbl(b: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((b[i] << 1) | (i + 1 < BLOCK ? b[i + 1] >> 7 : 0)) & 0xff;
  if (b[0] & 0x80) out[BLOCK - 1] ^= 0x87;
  return out;
}

/**
 * A CMAC key with its subkeys K1, K2 derived once. One CBC cipher stays open for the key's lifetime:
 * each message's first block is xored with the previous message's last ciphertext block, which cancels
 * the chaining and gives CBC with a zero IV without paying for a new cipher context per MAC.
 */
export class AesCmac {
  private readonly k1: Buffer;
  private readonly k2: Buffer;
  private readonly cbc: Cipher;
  private chain = Buffer.alloc(BLOCK);
  private scratch = Buffer.alloc(0);

  constructor(key: Buffer) {
    if (key.length !== 16) throw new RangeError(`AES-128-CMAC key must be 16 bytes, got ${key.length}`);
    const l = createCipheriv("aes-128-ecb", key, null).setAutoPadding(false).update(ZERO);
    this.k1 = dbl(l);
    this.k2 = dbl(this.k1);
    this.cbc = createCipheriv("aes-128-cbc", key, ZERO).setAutoPadding(false);
  }

  mac(message: Buffer): Buffer {
    return Buffer.from(this.macOf(message, 0, message.length));
  }

  /** Constant-time check of `tag` against the MAC of `buf[start, end)` (no slicing on the hot path). */
  verify(message: Buffer, tag: Buffer, start = 0, end = message.length, tagOffset = 0): boolean {
    if (tag.length - tagOffset < BLOCK) return false;
    const mac = this.macOf(message, start, end);
    let diff = 0;
    for (let i = 0; i < BLOCK; i++) diff |= mac[i] ^ tag[tagOffset + i];
    return diff === 0;
  }

  /** The MAC as a view of internal state, valid until the next call. */
  private macOf(message: Buffer, start: number, end: number): Buffer {
    const len = end - start;
    const n = Math.max(1, Math.ceil(len / BLOCK));
    const complete = len > 0 && len % BLOCK === 0;
    // Reused: cbc.update copies its input, so one scratch buffer per key serves every message.
    if (this.scratch.length !== n * BLOCK) this.scratch = Buffer.allocUnsafe(n * BLOCK);
    const padded = this.scratch;
    message.copy(padded, 0, start, end);
    if (!complete) padded.fill(0, len).writeUInt8(0x80, len);
    const sub = complete ? this.k1 : this.k2;
    const last = (n - 1) * BLOCK;
    for (let i = 0; i < BLOCK; i++) padded[last + i] ^= sub[i];
    for (let i = 0; i < BLOCK; i++) padded[i] ^= this.chain[i];
    const out = this.cbc.update(padded);
    this.chain = out.subarray(out.length - BLOCK);
    return this.chain;
  }
}

export function aesCmac(key: Buffer, message: Buffer): Buffer {
  return new AesCmac(key).mac(message);
}
