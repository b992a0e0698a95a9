// The enclave resource: every container (app or init) with EPC in its limits also gets one device of
// the enclave resource, request = limit = 1, unless it already names that resource. In node-status mode
// (EPC too large for one ListAndWatch message) the EPC is node capacity with no device plugin behind it,
// so this device is what brings the SGX device nodes into the container; the device-mode plugin serves
// it too, so pods are written, scheduled and started the same way on every SGX node.
import type { JsonPatchOp } from "./mutate.js";
import { asArray, asRecord, resourceValue, type Container, type Pod } from "./pod.js";

/** RFC 6901 escaping of one path token (resource names contain "/"). */
const token = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

export function enclaveOps(pod: Pod, resourceName: string, enclaveResourceName: string): JsonPatchOp[] {
  const spec = asRecord(pod.spec);
  const ops: JsonPatchOp[] = [];
  for (const field of ["containers", "initContainers"] as const) {
    asArray<Container>(spec[field]).forEach((raw, i) => {
      const c = asRecord(raw) as unknown as Container;
      if (resourceValue(c, "limits", resourceName) === undefined) return;
      const named = resourceValue(c, "limits", enclaveResourceName) !== undefined || resourceValue(c, "requests", enclaveResourceName) !== undefined;
      if (named) return;
      const resources = asRecord(asRecord(c).resources);
      const base = `/spec/${field}/${i}/resources`;
      ops.push({ op: "add", path: `${base}/limits/${token(enclaveResourceName)}`, value: "1" });
      // Without a requests map the API server defaults requests from limits, this one included.
      if (typeof resources.requests === "object" && resources.requests !== null && !Array.isArray(resources.requests)) {
        ops.push({ op: "add", path: `${base}/requests/${token(enclaveResourceName)}`, value: "1" });
      }
    });
  }
  return ops;
}
