// Device IDs and the ListAndWatch snapshot, which must stay under the kubelet's 4 MiB receive limit
// (grpc-go default; the kubelet sets no size option) with one device per MiB of EPC.
//
// IDs are base-36 counters ("0".."z", "10", ...): 4 characters cover 1,679,616 devices, against 6 for
// decimal IDs at 192 GiB. The snapshot is encoded by hand, straight into one buffer, because 200k
// generated message objects would cost tens of MiB of heap for a message that never changes shape; the
// tests check it byte for byte against the generated codec (`toBinary(ListAndWatchResponseSchema, ...)`).

export const HEALTHY = "Healthy";
export const UNHEALTHY = "Unhealthy";
export type Health = typeof HEALTHY | typeof UNHEALTHY;

/** grpc-go's default max receive size, which the kubelet's plugin client keeps. */
export const KUBELET_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** A gRPC length-prefixed message: 1 byte compressed flag + 4 bytes length. */
export const GRPC_FRAME_HEADER_BYTES = 5;

export function deviceId(index: number): string {
  return index.toString(36);
}

/** The index of a canonical ID below `count` ("0", "a", "2s"; never "00", "A" or "-1"), else -1. */
export function parseDeviceId(id: string, count: number): number {
  const n = id.length;
  if (n === 0 || n > 11 || (n > 1 && id.charCodeAt(0) === 48)) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 36 + d;
  }
  return v < count ? v : -1;
}

/** Encoded size of one `Device{ID, health}` entry inside ListAndWatchResponse, tag and length included. */
function entryBytes(idLength: number, health: Health): number {
  const device = 2 + idLength + 2 + health.length; // (tag, len, bytes) for ID and for health; no topology
  return 2 + device; // field 1 tag + one-byte length (device < 128 bytes)
}

/** Exact protobuf size of a snapshot of `count` devices, all with `health`. */
export function snapshotBytes(count: number, health: Health): number {
  let total = 0;
  let lo = 0;
  for (let len = 1, hi = 36; lo < count; len++, hi *= 36) {
    const inBand = Math.min(count, hi) - lo;
    total += inBand * entryBytes(len, health);
    lo += inBand;
  }
  return total;
}

/** Bytes the kubelet receives for one snapshot: the message plus the gRPC frame header. */
export function snapshotWireBytes(count: number, health: Health): number {
  return snapshotBytes(count, health) + GRPC_FRAME_HEADER_BYTES;
}

/** The most devices whose worst-case snapshot (all Unhealthy, the longer word) fits the kubelet limit. */
export function maxDevices(limitBytes = KUBELET_MAX_MESSAGE_BYTES): number {
  const budget = limitBytes - GRPC_FRAME_HEADER_BYTES;
  let used = 0;
  let lo = 0;
  for (let len = 1, hi = 36; ; len++, hi *= 36) {
    const per = entryBytes(len, UNHEALTHY);
    const bandCount = hi - lo;
    if (used + bandCount * per > budget) return lo + Math.floor((budget - used) / per);
    used += bandCount * per;
    lo = hi;
  }
}

const DIGITS = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz", "latin1");

/**
 * The wire bytes of `ListAndWatchResponse{devices: [{ID: "0", health}, ...]}`, nil topology. IDs are
 * produced by a base-36 odometer and written byte by byte: no per-device string or native call.
 */
export function encodeSnapshot(count: number, health: Health): Buffer {
  const buf = Buffer.allocUnsafe(snapshotBytes(count, health));
  const h = Buffer.from(health, "latin1");
  const digits = new Uint8Array(12); // least significant first
  let len = 1;
  let o = 0;
  for (let i = 0; i < count; i++) {
    buf[o++] = 0x0a; // ListAndWatchResponse.devices = 1, length-delimited
    buf[o++] = 4 + len + h.length;
    buf[o++] = 0x0a; // Device.ID = 1
    buf[o++] = len;
    for (let d = len - 1; d >= 0; d--) buf[o++] = DIGITS[digits[d]!]!;
    buf[o++] = 0x12; // Device.health = 2
    buf[o++] = h.length;
    for (let k = 0; k < h.length; k++) buf[o++] = h[k]!;
    for (let d = 0; ; d++) {
      if (d === len) {
        digits[len++] = 1;
        break;
      }
      if (++digits[d]! < 36) break;
      digits[d] = 0;
    }
  }
  return buf;
}
