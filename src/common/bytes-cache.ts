// A bounded cache keyed by byte strings (PCK chains, attestation keys) on paths that see the same few
// keys again and again. A lookup hashes a sample of the key's bytes and then compares them whole, so it
// neither copies the key nor hashes all of it (a 3.7 KB PCK chain as a Latin-1 string key cost ~3 µs a
// lookup, and ~4 KB of young garbage). Keys that share a hash take turns: correct, only slower.
import { smiHash } from "./fnv.js";

/** Bytes sampled per hash, spread evenly over the key: PCK chains of one CA differ all along the leaf. */
const SAMPLES = 256;

interface Entry<V> {
  bytes: Buffer;
  value: V;
}

export class BytesCache<V> {
  private readonly entries = new Map<number, Entry<V>>();
  /** The last hit or fill: consecutive quotes of one platform skip the hash. */
  private last?: Entry<V>;

  constructor(private readonly size: number) {}

  get(bytes: Buffer): V | undefined {
    if (this.last?.bytes.equals(bytes)) return this.last.value;
    const e = this.entries.get(sampledHash(bytes));
    if (!e?.bytes.equals(bytes)) return undefined;
    this.last = e;
    return e.value;
  }

  /** Keeps a copy of `bytes`, so a caller may reuse its buffer; returns `value`. */
  set(bytes: Buffer, value: V): V {
    const h = sampledHash(bytes);
    if (!this.entries.has(h) && this.entries.size >= this.size) this.entries.delete(this.entries.keys().next().value as number);
    this.last = { bytes: Buffer.from(bytes), value };
    this.entries.set(h, this.last);
    return value;
  }
}

/** The hash of up to SAMPLES bytes at an even stride. */
function sampledHash(b: Buffer): number {
  return smiHash(b, 0, b.length, b.length > SAMPLES ? Math.floor(b.length / SAMPLES) : 1);
}
