// The enclave resource: every container (app or init) with EPC in its limits also gets one device of
// the enclave resource, request = limit = 1, unless it already names that resource. In node-status mode
// (EPC too large for one ListAndWatch message) the EPC is node capacity with no device plugin behind it,
// so this device is what brings the SGX device nodes into the container; the device-mode plugin serves
// it too, so pods are written, scheduled and started the same way on every SGX node.
import { oneDeviceOps } from "./devices.js";
import type { JsonPatchOp } from "./mutate.js";
import { resourceValue, type Pod } from "./pod.js";

export function enclaveOps(pod: Pod, resourceName: string, enclaveResourceName: string): JsonPatchOp[] {
  return oneDeviceOps(pod, enclaveResourceName, (c) => resourceValue(c, "limits", resourceName) !== undefined);
}
