// The shape a kubelet request may have, checked on the wire bytes before they are decoded: decoding
// 100,000 container requests or 1 MiB device IDs would cost the heap before any handler could refuse
// them. The kubelet sends one container per Allocate and GetPreferredAllocation call, with at most every
// device of the resource in it, and device IDs are at most 63 bytes (the API's own comment); anything
// beyond is refused with INVALID_ARGUMENT and a short message naming the limit.
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { KUBELET_MAX_MESSAGE_BYTES } from "./device-ids.js";

/** Container requests in one Allocate or GetPreferredAllocation call (the kubelet sends one). */
export const MAX_CONTAINER_REQUESTS = 256;
/** Longest device ID accepted (v1beta1's Device.ID comment); ours are at most 4 characters. */
export const MAX_DEVICE_ID_BYTES = 63;
/** Characters of a client-sent ID shown in an error or log line. */
const SHOWN_ID_CHARS = 16;
/** The smallest receive limit, whatever the device count: room for every legitimate shape with margin. */
const MIN_RECEIVE_BYTES = 64 * 1024;

/** A client-sent ID as it may appear in a message: quoted, at most SHOWN_ID_CHARS characters and "…". */
export function showId(id: string): string {
  return JSON.stringify(id.length > SHOWN_ID_CHARS ? `${id.slice(0, SHOWN_ID_CHARS)}…` : id);
}

/** Bytes of `count` canonical IDs as repeated string entries (tag, length, base-36 digits). */
function idListBytes(count: number): number {
  let total = 0;
  for (let lo = 0, hi = 36, len = 1; lo < count; lo = hi, hi *= 36, len++) total += (Math.min(count, hi) - lo) * (2 + len);
  return total;
}

/**
 * The plugin server's gRPC receive limit for a resource of `devices` devices: four times the largest
 * legitimate request (a preferred allocation listing every device as available and as must-include),
 * at least 64 KiB, at most the kubelet's own 4 MiB.
 */
export function maxRequestBytes(devices: number): number {
  return Math.min(KUBELET_MAX_MESSAGE_BYTES, Math.max(MIN_RECEIVE_BYTES, 4 * 2 * idListBytes(devices)));
}

export interface RequestShape {
  method: "Allocate" | "GetPreferredAllocation";
  /** Field numbers, inside each container request, that hold device IDs, with their proto names. */
  idFields: ReadonlyMap<number, string>;
}

export const ALLOCATE_SHAPE: RequestShape = { method: "Allocate", idFields: new Map([[1, "devices_ids"]]) };
export const PREFERRED_SHAPE: RequestShape = {
  method: "GetPreferredAllocation",
  idFields: new Map([
    [1, "available_deviceIDs"],
    [2, "must_include_deviceIDs"],
  ]),
};

/**
 * Why `bytes` (an AllocateRequest or PreferredAllocationRequest) is over the limits for a resource of
 * `devices` devices, or null. Counts without decoding: at most MAX_CONTAINER_REQUESTS container requests,
 * each ID field holding at most `devices` IDs in the whole request, each ID at most MAX_DEVICE_ID_BYTES.
 * Malformed bytes are left to the decoder.
 */
export function shapeProblem(bytes: Uint8Array, shape: RequestShape, devices: number): string | null {
  const r = new BinaryReader(bytes);
  const counts = new Map<number, number>();
  let containers = 0;
  try {
    while (r.pos < r.len) {
      const [field, wire] = r.tag();
      if (field !== 1 || wire !== WireType.LengthDelimited) {
        r.skip(wire, field);
        continue;
      }
      if (++containers > MAX_CONTAINER_REQUESTS) return `${shape.method}: more than ${MAX_CONTAINER_REQUESTS} container requests (the limit)`;
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const [inner, innerWire] = r.tag();
        const name = shape.idFields.get(inner);
        if (name === undefined || innerWire !== WireType.LengthDelimited) {
          r.skip(innerWire, inner);
          continue;
        }
        const len = r.uint32();
        if (len > MAX_DEVICE_ID_BYTES) return `${shape.method}: a device ID of ${len} bytes in ${name}, over the limit of ${MAX_DEVICE_ID_BYTES}`;
        r.pos += len;
        const n = (counts.get(inner) ?? 0) + 1;
        if (n > devices) return `${shape.method}: more than ${devices} device IDs in ${name} (the limit: the resource's device count)`;
        counts.set(inner, n);
      }
    }
  } catch {
    return null; // truncated or malformed: the decoder says precisely what is wrong
  }
  return null;
}
