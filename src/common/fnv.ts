// FNV-1a, 32 bits: the kubelet's checkpoint checksum (Go's hash/fnv New32a) and the hash behind the
// bytes-keyed caches (OIDs, PCK chains, attestation keys).

/** FNV-1a of buf[from, to), every `stride`-th byte (1: all of them), as an unsigned 32-bit number. */
export function fnv1a32(buf: Uint8Array, from = 0, to = buf.length, stride = 1): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i += stride) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

/** The same hash cut to 30 bits: a Map keyed by it holds small integers (Smis), not heap numbers. */
export const smiHash = (buf: Uint8Array, from?: number, to?: number, stride?: number): number => fnv1a32(buf, from, to, stride) & 0x3fffffff;
