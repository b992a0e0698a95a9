// What the plugin says about its node: the labels it sets once SGX is found (through the API and in an NFD
// feature file), and where the EPC capacity goes on the node status in node-status mode.

/** One of the labels the add-on's DaemonSets select SGX nodes by; Intel's epchook `-node-label` sets it too. */
export const SGX_CAPABLE_LABEL = "sgx.intel.com/capable";
/** The EPC size in MiB, under the add-on's own domain: informative (selectors, dashboards), never scheduled on. */
export const EPC_MIB_LABEL = "confcom.io/sgx-epc-mib";

export function sgxNodeLabels(epcMiB: number): Record<string, string> {
  return { [SGX_CAPABLE_LABEL]: "true", [EPC_MIB_LABEL]: String(epcMiB) };
}

/** RFC 6901: `/` and `~` in a resource name are escaped inside a JSON pointer. */
export function jsonPointerToken(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The JSON pointer of an extended resource's node capacity, as Intel's epchook `-register` patches it. */
export function capacityPointer(resourceName: string): string {
  return `/status/capacity/${jsonPointerToken(resourceName)}`;
}
