// Least privilege for /dev/sgx_provision: only the containers a pod names as quoting in process
// (confcom.io/quote-in-process: "c1,c2", or Intel's sgx.intel.com/quote-provider: "<container>") get
// one device of the provision resource, and only when they have EPC in their limits. A pod on the
// quote helper (confcom.io/quote-helper: "true") never gets it: the helper quotes for it.
import { INTEL_QUOTE_PROVIDER_ANNOTATION, QUOTE_HELPER_ANNOTATION, QUOTE_IN_PROCESS_ANNOTATION } from "../addon/config.js";
import { CONTAINER_FIELDS, oneDeviceOps } from "./devices.js";
import type { JsonPatchOp } from "./mutate.js";
import { asArray, asRecord, requestsEpc, resourceValue, type Container, type Pod } from "./pod.js";

const annotations = (pod: Pod) => asRecord(asRecord(pod.metadata).annotations);

export function optsIntoQuoteHelper(pod: Pod): boolean {
  return annotations(pod)[QUOTE_HELPER_ANNOTATION] === "true";
}

/** The names in confcom.io/quote-in-process (bounded: a pod has at most a few hundred containers). */
export function inProcessNames(pod: Pod): string[] {
  const v = annotations(pod)[QUOTE_IN_PROCESS_ANNOTATION];
  if (typeof v !== "string") return [];
  return [...new Set(v.slice(0, 16_384).split(",").map((s) => s.trim()).filter(Boolean))];
}

function containerNames(pod: Pod): Set<string> {
  const spec = asRecord(pod.spec);
  const names = new Set<string>();
  for (const f of CONTAINER_FIELDS) for (const c of asArray<Container>(spec[f])) if (typeof asRecord(c).name === "string") names.add(asRecord(c).name as string);
  return names;
}

/**
 * The containers that quote in process. Intel's annotation counts only when it names a container of
 * the pod (Intel's webhook also accepts a name that is none, meaning the node's aesmd).
 */
export function inProcessContainers(pod: Pod): Set<string> {
  const named = new Set(inProcessNames(pod));
  const intel = annotations(pod)[INTEL_QUOTE_PROVIDER_ANNOTATION];
  if (typeof intel === "string" && containerNames(pod).has(intel)) named.add(intel);
  return named;
}

export function provisionOps(pod: Pod, resourceName: string, provisionResourceName: string): JsonPatchOp[] {
  if (optsIntoQuoteHelper(pod)) return [];
  const named = inProcessContainers(pod);
  if (named.size === 0) return [];
  return oneDeviceOps(pod, provisionResourceName, (c) => named.has(c.name) && resourceValue(c, "limits", resourceName) !== undefined);
}

/** Why the pod's provisioning request is refused, one line per problem; empty when it is fine. */
export function provisionProblems(pod: Pod, resourceName: string, provisionResourceName: string): string[] {
  const spec = asRecord(pod.spec);
  const problems: string[] = [];
  const containers = CONTAINER_FIELDS.flatMap((f) => asArray<Container>(spec[f]).map((c) => asRecord(c) as unknown as Container));
  if (optsIntoQuoteHelper(pod)) {
    if (inProcessContainers(pod).size > 0) {
      problems.push(
        `the pod opts into the quote helper (${QUOTE_HELPER_ANNOTATION}: "true") and names containers that quote in process ` +
          `(${QUOTE_IN_PROCESS_ANNOTATION} or ${INTEL_QUOTE_PROVIDER_ANNOTATION}): choose one; quote-helper pods never get ${provisionResourceName}`,
      );
    }
    for (const c of containers) {
      if (requestsEpc(c, provisionResourceName)) problems.push(`container ${show(c.name)}: asks for ${provisionResourceName}, which pods on the quote helper (${QUOTE_HELPER_ANNOTATION}: "true") never get`);
    }
    return problems;
  }
  const withEpc = new Set(containers.filter((c) => resourceValue(c, "limits", resourceName) !== undefined).map((c) => c.name));
  for (const name of inProcessNames(pod)) {
    if (!withEpc.has(name)) problems.push(`${QUOTE_IN_PROCESS_ANNOTATION} names ${show(name)}, which is not a container with ${resourceName} in its limits`);
  }
  return problems;
}

/** Names come from the tenant: quoted and cut short, never echoed in full. */
export function show(v: unknown): string {
  const s = typeof v === "string" ? v : String(v);
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
