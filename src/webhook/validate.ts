// The validation: EPC, when a container asks for it, is a whole number of MiB with request = limit
// (extended resources cannot be overcommitted). Pods without EPC are none of our business.
import { asArray, asRecord, requestsEpc, resourceValue, type Container, type Pod } from "./pod.js";
import { isWhole, parseQuantity, sameValue } from "./quantity.js";

/** Why the pod is rejected, one line per offending container; empty when it is admitted. */
export function validatePod(pod: Pod, resourceName: string): string[] {
  const spec = asRecord(pod.spec);
  const problems: string[] = [];
  const groups: [string, Container[]][] = [
    ["container", asArray<Container>(spec.containers)],
    ["init container", asArray<Container>(spec.initContainers)],
  ];
  for (const [what, containers] of groups) {
    for (const raw of containers) {
      const c = asRecord(raw) as unknown as Container;
      if (!requestsEpc(c, resourceName)) continue;
      const who = `${what} ${JSON.stringify(typeof c.name === "string" ? c.name : "?")}`;
      const limit = resourceValue(c, "limits", resourceName);
      const request = resourceValue(c, "requests", resourceName);
      if (limit === undefined) {
        problems.push(`${who}: ${resourceName} is requested (${show(request)}) but has no limit; set the limit equal to the request`);
        continue;
      }
      const l = parseQuantity(limit);
      if (!l || !isWhole(l) || l.num / l.den < 1n) {
        problems.push(`${who}: ${resourceName} limit ${show(limit)} is not a whole, positive number of MiB`);
        continue;
      }
      if (request === undefined) continue; // defaulted to the limit by the API server
      const r = parseQuantity(request);
      if (!r || !isWhole(r)) problems.push(`${who}: ${resourceName} request ${show(request)} is not a whole number of MiB`);
      else if (!sameValue(r, l)) problems.push(`${who}: ${resourceName} request ${show(request)} must equal its limit ${show(limit)} (extended resources cannot be overcommitted)`);
    }
  }
  return problems;
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}
