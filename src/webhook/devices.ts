// One device of an extended resource added to chosen containers, request = limit = 1, unless the
// container already names that resource (its own value is kept). Shared by the enclave resource
// (every EPC container) and the provision resource (the containers that quote in process).
import type { JsonPatchOp } from "./mutate.js";
import { asArray, asRecord, resourceValue, type Container, type Pod } from "./pod.js";

export const CONTAINER_FIELDS = ["containers", "initContainers"] as const;
export type ContainerField = (typeof CONTAINER_FIELDS)[number];

/** RFC 6901 escaping of one path token (resource names and annotation keys contain "/"). */
export const token = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

export function oneDeviceOps(pod: Pod, deviceResource: string, chosen: (c: Container, field: ContainerField) => boolean): JsonPatchOp[] {
  const spec = asRecord(pod.spec);
  const ops: JsonPatchOp[] = [];
  for (const field of CONTAINER_FIELDS) {
    asArray<Container>(spec[field]).forEach((raw, i) => {
      const c = asRecord(raw) as unknown as Container;
      if (!chosen(c, field)) return;
      if (resourceValue(c, "limits", deviceResource) !== undefined || resourceValue(c, "requests", deviceResource) !== undefined) return;
      const resources = asRecord(asRecord(c).resources);
      const base = `/spec/${field}/${i}/resources`;
      // Only containers with a limits map are chosen (EPC is in it).
      ops.push({ op: "add", path: `${base}/limits/${token(deviceResource)}`, value: "1" });
      // Without a requests map the API server defaults requests from limits, this one included.
      if (typeof resources.requests === "object" && resources.requests !== null && !Array.isArray(resources.requests)) {
        ops.push({ op: "add", path: `${base}/requests/${token(deviceResource)}`, value: "1" });
      }
    });
  }
  return ops;
}
