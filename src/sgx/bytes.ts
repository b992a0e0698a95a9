// Little-endian byte reader/writer and declarative field codecs. Every fixed layout in this folder is a
// `struct(...)` table of these, so decoding and encoding share one description of each structure and
// the byte-identical round trip holds by construction.
import { SgxCodecError } from "./errors.js";

/** Where a reader or writer is: the structure, the offset, and the path of the field being handled. */
abstract class FieldCursor {
  private readonly path: string[] = [];

  constructor(
    readonly structure: string,
    public offset: number,
  ) {}

  field(name: string): string {
    return [...this.path, name].join(".");
  }

  /** Runs `fn` with `name` pushed onto the field path, so nested fields report e.g. `qe_report.mr_signer`. */
  scoped<T>(name: string, fn: () => T): T {
    this.path.push(name);
    try {
      return fn();
    } finally {
      this.path.pop();
    }
  }

  fail(name: string, reason: string, at = this.offset): never {
    throw new SgxCodecError(this.structure, this.field(name), at, reason);
  }
}

export class ByteReader extends FieldCursor {
  /**
   * Reads `buf[start, end)`; offsets in errors are absolute within `buf`. With `views`, byte fields are
   * views into `buf` instead of copies: for a caller that owns `buf` and never changes it.
   */
  constructor(
    readonly buf: Buffer,
    structure: string,
    start = 0,
    readonly end = buf.length,
    private readonly views = false,
  ) {
    super(structure, start);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  need(name: string, n: number): number {
    if (n > this.remaining) throw new SgxCodecError(this.structure, this.field(name), this.offset, "truncated", n, this.remaining);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  /** A copy unless reading `views`, so decoded structures never alias (and never pin) the input buffer. */
  bytes(name: string, n: number): Buffer {
    const at = this.need(name, n);
    const view = this.buf.subarray(at, at + n);
    return this.views ? view : Buffer.from(view);
  }

  u16(name: string): number {
    return this.buf.readUInt16LE(this.need(name, 2));
  }

  u32(name: string): number {
    return this.buf.readUInt32LE(this.need(name, 4));
  }

  u64(name: string): bigint {
    return this.buf.readBigUInt64LE(this.need(name, 8));
  }

  /** Decoders of fixed-size structures accept exactly their size: trailing bytes are a length bug upstream. */
  expectEnd(what = "end of structure"): void {
    if (this.remaining !== 0) this.fail(what, `has ${this.remaining} unexpected trailing byte(s)`);
  }
}

export class ByteWriter extends FieldCursor {
  readonly buf: Buffer;

  constructor(size: number, structure: string) {
    super(structure, 0);
    this.buf = Buffer.alloc(size);
  }

  bytes(name: string, value: Buffer, n = value.length): void {
    if (!Buffer.isBuffer(value) || value.length !== n) this.fail(name, `must be ${n} bytes, got ${Buffer.isBuffer(value) ? value.length : typeof value}`);
    value.copy(this.buf, this.offset);
    this.offset += n;
  }

  u16(name: string, v: number): void {
    this.int(name, v, 0xffff);
    this.offset = this.buf.writeUInt16LE(v, this.offset);
  }

  u32(name: string, v: number): void {
    this.int(name, v, 0xffffffff);
    this.offset = this.buf.writeUInt32LE(v, this.offset);
  }

  u64(name: string, v: bigint): void {
    if (typeof v !== "bigint" || v < 0n || v > 0xffffffffffffffffn) this.fail(name, `must be a u64 bigint, got ${String(v)}`);
    this.offset = this.buf.writeBigUInt64LE(v, this.offset);
  }

  private int(name: string, v: number, max: number): void {
    if (!Number.isInteger(v) || v < 0 || v > max) this.fail(name, `must be an integer in 0..${max}, got ${String(v)}`);
  }

  done(): Buffer {
    if (this.offset !== this.buf.length) this.fail("end of structure", `wrote ${this.offset} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

/** How one field (or a whole fixed-size structure) is read and written. */
export interface Codec<T> {
  readonly size: number;
  read(r: ByteReader, name: string): T;
  write(w: ByteWriter, name: string, value: T): void;
}

export const u16: Codec<number> = { size: 2, read: (r, n) => r.u16(n), write: (w, n, v) => w.u16(n, v) };
export const u32: Codec<number> = { size: 4, read: (r, n) => r.u32(n), write: (w, n, v) => w.u32(n, v) };
export const u64: Codec<bigint> = { size: 8, read: (r, n) => r.u64(n), write: (w, n, v) => w.u64(n, v) };
export function bytes(size: number): Codec<Buffer> {
  return { size, read: (r, n) => r.bytes(n, size), write: (w, n, v) => w.bytes(n, v, size) };
}

/** camelCase key -> Intel's snake_case field name, for error messages and `quote inspect`. */
export function intelName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export interface StructCodec<T> extends Codec<T> {
  readonly structure: string;
  readonly fields: { [K in keyof T]: Codec<T[K]> };
  /** Byte offset of each field inside the structure. */
  readonly offsets: { [K in keyof T]: number };
  /** Reads the fields in place (no path prefix), e.g. at the top of a larger reader. */
  readFields(r: ByteReader): T;
  writeFields(w: ByteWriter, value: T): void;
}

/** A fixed layout: fields in declaration order, no padding (Intel's structures are all pack(1)). */
export function struct<T extends object>(structure: string, fields: { [K in keyof T]: Codec<T[K]> }): StructCodec<T> {
  // Field names are resolved once here, not per read: decoding sits on the verifier's hot path.
  const layout = (Object.keys(fields) as (keyof T & string)[]).map((key) => ({ key, name: intelName(key), codec: fields[key] }));
  const offsets = {} as { [K in keyof T]: number };
  let size = 0;
  for (const f of layout) {
    offsets[f.key] = size;
    size += f.codec.size;
  }
  const readFields = (r: ByteReader): T => {
    const out = {} as T;
    for (const f of layout) out[f.key] = f.codec.read(r, f.name);
    return out;
  };
  const writeFields = (w: ByteWriter, value: T): void => {
    for (const f of layout) f.codec.write(w, f.name, value[f.key]);
  };
  return {
    structure,
    fields,
    offsets,
    size,
    readFields,
    writeFields,
    read: (r, name) => r.scoped(name, () => readFields(r)),
    write(w, name, value) {
      if (value === null || typeof value !== "object") w.fail(name, "is missing");
      w.scoped(name, () => writeFields(w, value));
    },
  };
}

/** Decodes a buffer that must hold exactly one `codec` structure. */
export function decodeExact<T>(codec: StructCodec<T>, buf: Buffer): T {
  const r = new ByteReader(buf, codec.structure);
  if (buf.length < codec.size) throw new SgxCodecError(codec.structure, "whole structure", 0, "truncated", codec.size, buf.length);
  const value = codec.readFields(r);
  r.expectEnd();
  return value;
}

export function encodeExact<T>(codec: StructCodec<T>, value: T): Buffer {
  const w = new ByteWriter(codec.size, codec.structure);
  if (value === null || typeof value !== "object") w.fail("whole structure", "is missing");
  codec.writeFields(w, value);
  return w.done();
}
