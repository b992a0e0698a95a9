// --enforce-epc-limits: each container's EPC limit as the per-container annotation of the
// containers/nri-plugins `sgx-epc` NRI plugin (cmd/plugins/sgx-epc), which reads
// `epc-limit.nri.io/container.<name>` (an unsigned integer, checked before the pod-wide
// `epc-limit.nri.io/pod` and `epc-limit.nri.io`) and writes it as `misc.max` = "sgx_epc <value>" in the
// container's cgroup. The misc controller's sgx_epc resource counts bytes, so the value is MiB * 2^20.
// A value the tenant wrote under our key is overwritten: the limit is the one the scheduler accounted.
import { CONTAINER_FIELDS, token } from "./devices.js";
import type { JsonPatchOp } from "./mutate.js";
import { asArray, asRecord, resourceValue, type Container, type Pod } from "./pod.js";
import { isWhole, parseQuantity } from "./quantity.js";

export const EPC_LIMIT_ANNOTATION_PREFIX = "epc-limit.nri.io/container.";
/** An annotation key's name part (after the "/") is at most 63 characters. */
const MAX_NAME_PART = 63;
export const MAX_ENFORCEABLE_CONTAINER_NAME = MAX_NAME_PART - "container.".length;

export const epcLimitKey = (container: string) => `${EPC_LIMIT_ANNOTATION_PREFIX}${container}`;

/** Each EPC container's limit in bytes, by annotation key; containers whose limit is not whole MiB are left to /validate. */
export function epcLimitAnnotations(pod: Pod, resourceName: string): Map<string, string> {
  const spec = asRecord(pod.spec);
  const out = new Map<string, string>();
  for (const field of CONTAINER_FIELDS) {
    for (const raw of asArray<Container>(spec[field])) {
      const c = asRecord(raw) as unknown as Container;
      if (typeof c.name !== "string" || c.name.length === 0 || c.name.length > MAX_ENFORCEABLE_CONTAINER_NAME) continue;
      const q = parseQuantity(resourceValue(c, "limits", resourceName));
      if (!q || !isWhole(q) || q.num / q.den < 1n) continue;
      out.set(epcLimitKey(c.name), String((q.num / q.den) << 20n));
    }
  }
  return out;
}

export function epcLimitOps(pod: Pod, resourceName: string): JsonPatchOp[] {
  const wanted = epcLimitAnnotations(pod, resourceName);
  if (wanted.size === 0) return [];
  const metadata = pod.metadata;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    return [{ op: "add", path: "/metadata", value: { annotations: Object.fromEntries(wanted) } }];
  }
  const existing = metadata.annotations;
  if (typeof existing !== "object" || existing === null || Array.isArray(existing)) {
    return [{ op: "add", path: "/metadata/annotations", value: Object.fromEntries(wanted) }];
  }
  const ops: JsonPatchOp[] = [];
  for (const [key, value] of wanted) {
    if (!(key in existing)) ops.push({ op: "add", path: `/metadata/annotations/${token(key)}`, value });
    else if (existing[key] !== value) ops.push({ op: "replace", path: `/metadata/annotations/${token(key)}`, value });
  }
  return ops;
}

/** With enforcement on, a container the annotation cannot name would escape its limit: refused. */
export function epcLimitProblems(pod: Pod, resourceName: string): string[] {
  const spec = asRecord(pod.spec);
  const problems: string[] = [];
  for (const field of CONTAINER_FIELDS) {
    for (const raw of asArray<Container>(spec[field])) {
      const c = asRecord(raw) as unknown as Container;
      if (resourceValue(c, "limits", resourceName) === undefined || typeof c.name !== "string") continue;
      if (c.name.length > MAX_ENFORCEABLE_CONTAINER_NAME) {
        problems.push(`container ${JSON.stringify(c.name.slice(0, 64))}: names longer than ${MAX_ENFORCEABLE_CONTAINER_NAME} characters cannot carry the ${EPC_LIMIT_ANNOTATION_PREFIX}<name> annotation that enforces its EPC limit; shorten it`);
      }
    }
  }
  return problems;
}
