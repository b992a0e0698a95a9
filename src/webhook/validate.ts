// The validation: EPC, when a container asks for it, is a whole number of MiB with request = limit
// (extended resources cannot be overcommitted). Pods without EPC are none of our business.
// Also: provisioning asked for where it is refused (./provision.ts), and, with enforceEpcLimits, EPC
// containers whose names the NRI plugin's annotation cannot carry (./epc-limits.ts).
import { DEFAULT_PROVISION_RESOURCE_NAME } from "../deviceplugin/defaults.js";
import { epcLimitProblems } from "./epc-limits.js";
import type { MutationOptions } from "./mutate.js";
import { asArray, asRecord, requestsEpc, resourceValue, type Container, type Pod } from "./pod.js";
import { provisionProblems } from "./provision.js";
import { isWhole, parseQuantity, sameValue } from "./quantity.js";

/** Reported problems beyond this many are counted, not listed: the message stays short whatever the pod. */
const MAX_PROBLEMS = 10;

/** Why the pod is rejected, one line per problem (at most MAX_PROBLEMS and a count); empty when it is admitted. */
export function validatePod(pod: Pod, resourceName: string, opts: MutationOptions = {}): string[] {
  const problems = [
    ...epcProblems(pod, resourceName),
    ...provisionProblems(pod, resourceName, opts.provisionResourceName ?? DEFAULT_PROVISION_RESOURCE_NAME),
    ...(opts.enforceEpcLimits ? epcLimitProblems(pod, resourceName) : []),
  ];
  return problems.length <= MAX_PROBLEMS ? problems : [...problems.slice(0, MAX_PROBLEMS), `and ${problems.length - MAX_PROBLEMS} more`];
}

function epcProblems(pod: Pod, resourceName: string): string[] {
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
