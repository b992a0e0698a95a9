// The mutation: every container with EPC in its limits gets one enclave device (./enclave.ts). A pod
// that opts in (annotation confcom.io/quote-helper: "true") also gets, in each app container with EPC
// in its limits, SGX_AESM_ADDR=1 and the host's /var/run/aesmd read-only (a unix socket connects through
// a read-only bind mount; tenants must not unlink or replace the node's socket), as the AKS docs' sample
// does by hand. Init containers are left alone, as Intel's webhook does: quoting happens in
// the long-running app, and an init container that wants the socket can mount it itself.
// Containers named as quoting in process get one provision device (./provision.ts); with
// enforceEpcLimits each EPC container's limit becomes the sgx-epc NRI plugin's annotation (./epc-limits.ts).
// Idempotent: what is already there (by env name, by mount path, by volume name) is kept as is.
import { AESMD_DIR } from "../addon/config.js";
import { DEFAULT_ENCLAVE_RESOURCE_NAME, DEFAULT_PROVISION_RESOURCE_NAME } from "../deviceplugin/defaults.js";
import { enclaveOps } from "./enclave.js";
import { epcLimitOps } from "./epc-limits.js";
import { asArray, asRecord, resourceValue, type Container, type Pod } from "./pod.js";
import { optsIntoQuoteHelper, provisionOps } from "./provision.js";

export const AESM_ENV = { name: "SGX_AESM_ADDR", value: "1" };
export const AESMD_VOLUME = "confcom-aesmd";

export interface JsonPatchOp {
  op: "add" | "replace";
  path: string;
  value: unknown;
}

/** What the mutation adds beyond the enclave device; the webhook's flags. */
export interface MutationOptions {
  /** The device plugin's provision resource (default kubernetes.azure.com/sgx_provision). */
  provisionResourceName?: string;
  /** Write each EPC container's limit as the sgx-epc NRI plugin's annotation. */
  enforceEpcLimits?: boolean;
}

export const optsIn = optsIntoQuoteHelper;

export function mutatePod(pod: Pod, resourceName: string, enclaveResourceName = DEFAULT_ENCLAVE_RESOURCE_NAME, opts: MutationOptions = {}): JsonPatchOp[] {
  return [
    ...enclaveOps(pod, resourceName, enclaveResourceName),
    ...provisionOps(pod, resourceName, opts.provisionResourceName ?? DEFAULT_PROVISION_RESOURCE_NAME),
    ...aesmdOps(pod, resourceName),
    ...(opts.enforceEpcLimits ? epcLimitOps(pod, resourceName) : []),
  ];
}

function aesmdOps(pod: Pod, resourceName: string): JsonPatchOp[] {
  if (!optsIn(pod)) return [];
  const spec = asRecord(pod.spec);
  const containers = asArray<Container>(spec.containers);
  const volumes = asArray<{ name?: unknown }>(spec.volumes);
  const ops: JsonPatchOp[] = [];
  let volumeNeeded = false;
  containers.forEach((raw, i) => {
    const c = asRecord(raw) as unknown as Container;
    if (resourceValue(c, "limits", resourceName) === undefined) return;
    const base = `/spec/containers/${i}`;
    const env = asRecord(c).env;
    if (!Array.isArray(env)) ops.push({ op: "add", path: `${base}/env`, value: [AESM_ENV] });
    else if (!env.some((e) => asRecord(e).name === AESM_ENV.name)) ops.push({ op: "add", path: `${base}/env/-`, value: AESM_ENV });
    const mounts = asRecord(c).volumeMounts;
    const mounted = Array.isArray(mounts) && mounts.some((m) => stripSlash(asRecord(m).mountPath) === AESMD_DIR);
    if (!mounted) {
      const mount = { name: AESMD_VOLUME, mountPath: AESMD_DIR, readOnly: true };
      ops.push(Array.isArray(mounts) ? { op: "add", path: `${base}/volumeMounts/-`, value: mount } : { op: "add", path: `${base}/volumeMounts`, value: [mount] });
      volumeNeeded = true;
    }
  });
  const volume = { name: AESMD_VOLUME, hostPath: { path: AESMD_DIR, type: "DirectoryOrCreate" } };
  if (volumeNeeded && !volumes.some((v) => asRecord(v).name === AESMD_VOLUME)) {
    ops.push(Array.isArray(spec.volumes) ? { op: "add", path: "/spec/volumes/-", value: volume } : { op: "add", path: "/spec/volumes", value: [volume] });
  }
  return ops;
}

function stripSlash(p: unknown): unknown {
  return typeof p === "string" && p.length > 1 ? p.replace(/\/+$/, "") : p;
}
