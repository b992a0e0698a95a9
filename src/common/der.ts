// A minimal DER reader (hand-written for speed: no schema objects, only offsets into the input):
// elements, their children and OIDs, for the certificate, CRL and SGX-extension walkers. An element
// holds offsets and makes its `raw` / `content` views only when asked (a Buffer view costs ~0.2 µs, and
// a walk asks for few of the hundred-odd elements of a certificate).
import { smiHash } from "./fnv.js";

export class Tlv {
  constructor(
    private readonly buf: Buffer,
    readonly tag: number,
    private readonly start: number,
    private readonly contentStart: number,
    private readonly end: number,
  ) {}

  /** The whole element, header included. */
  get raw(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /** The content octets. */
  get content(): Buffer {
    return this.buf.subarray(this.contentStart, this.end);
  }

  get contentLength(): number {
    return this.end - this.contentStart;
  }

  /** The elements inside this (constructed) element. */
  children(): Tlv[] {
    const out: Tlv[] = [];
    for (let at = this.contentStart; at < this.end; ) {
      const c = readAt(this.buf, at, this.end);
      out.push(c);
      at = c.end;
    }
    return out;
  }

  /** The content as an OBJECT IDENTIFIER in dotted form. */
  oid(): string {
    return oidAt(this.buf, this.contentStart, this.end);
  }

  /** Content octet `i` (undefined past the end), read without making a view. */
  byte(i: number): number | undefined {
    return this.contentStart + i < this.end ? this.buf[this.contentStart + i] : undefined;
  }

  /** The content as a big-endian unsigned number of 1-4 octets; -1 if empty, longer, or negative (high bit set). */
  uint(): number {
    const n = this.end - this.contentStart;
    if (n === 0 || n > 4 || this.buf[this.contentStart] & 0x80) return -1;
    return this.buf.readUIntBE(this.contentStart, n);
  }

  /** A copy of the content octets, detached from the input. */
  copyContent(): Buffer {
    return Buffer.from(this.buf.subarray(this.contentStart, this.end));
  }
}

export class DerError extends Error {}

/** The element at `offset` of `buf`, which must end by `limit`. */
function readAt(buf: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError("truncated DER header");
  const tag = buf[offset];
  let len = buf[offset + 1];
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > limit) throw new DerError("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i];
    header += n;
  }
  const end = offset + header + len;
  if (end > limit) throw new DerError("DER element overruns its container");
  return new Tlv(buf, tag, offset, offset + header, end);
}

export const readTlv = (buf: Buffer, offset = 0): Tlv => readAt(buf, offset, buf.length);

/** The elements inside a constructed element. */
export const children = (t: Tlv): Tlv[] => t.children();

/** Reads `buf` as exactly one element. */
export function readOnly(buf: Buffer): Tlv {
  const t = readAt(buf, 0, buf.length);
  if (t.raw.length !== buf.length) throw new DerError("trailing bytes after DER element");
  return t;
}

export const oidToString = (c: Buffer): string => oidAt(c, 0, c.length);

// The same few dozen OIDs recur in every certificate and SGX extension: decoded once, they come back as one
// flat string each, which the Maps keyed by OID hash fast. The cache is keyed by a hash of the encoded
// bytes and checked against them, so a lookup allocates nothing (a walk of a PCK certificate meets ~40).
// Bounded, since a hostile input may carry any OID.
const OID_CACHE_SIZE = 1024;
const oids = new Map<number, { encoded: Buffer; oid: string }[]>();
let cachedOids = 0;

function oidAt(buf: Buffer, from: number, to: number): string {
  const h = smiHash(buf, from, to);
  const bucket = oids.get(h);
  if (bucket) for (const e of bucket) if (sameBytes(e.encoded, buf, from, to)) return e.oid;
  const oid = decodeOid(buf, from, to);
  if (cachedOids < OID_CACHE_SIZE) {
    cachedOids++;
    const entry = { encoded: Buffer.from(buf.subarray(from, to)), oid };
    if (bucket) bucket.push(entry);
    else oids.set(h, [entry]);
  }
  return oid;
}

/** A JS loop: on OID-sized ranges Buffer#compare's native call costs ~3x as much. */
function sameBytes(a: Buffer, buf: Buffer, from: number, to: number): boolean {
  if (a.length !== to - from) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[from + i]) return false;
  return true;
}

function decodeOid(buf: Buffer, from: number, to: number): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = from; i < to; i++) {
    const b = buf[i];
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}
