// The SGX device nodes Intel's in-process library needs, checked before it is trusted to quote: an enclave
// node (urts opens it read-write to build the QE3, PCE and ID enclaves) and the provision node (the PCE
// asks for the PROVISION_KEY attribute). Without them the library only says INTERFACE_UNAVAILABLE.
import { constants, promises as fs } from "node:fs";
import path from "node:path";
import { SGX_DEVICE_CANDIDATES, type SgxNodeRole } from "../../deviceplugin/devices/nodes.js";

export interface DeviceCheck {
  ok: boolean;
  /** What is missing or inaccessible, and how to fix it; set when not ok. */
  reason?: string;
  /** The nodes found, by role, as paths inside the container. */
  enclave?: string;
  provision?: string;
}

const HOW_TO_FIX: Record<SgxNodeRole, string> = {
  enclave: "the pod needs the SGX devices: request kubernetes.azure.com/sgx_enclave (or EPC) from the confcom device plugin",
  provision: "the quote helper needs /dev/sgx_provision (the add-on's DaemonSet gets it from the device plugin; on the host it is root:sgx_prv 0660)",
};

async function findRole(devRoot: string, role: SgxNodeRole): Promise<{ found?: string; problem?: string }> {
  const candidates = SGX_DEVICE_CANDIDATES.filter((c) => c.role === role).map((c) => c.containerPath);
  let problem: string | undefined;
  for (const containerPath of candidates) {
    const file = path.join(devRoot, containerPath);
    const stat = await fs.stat(file).catch(() => null);
    if (!stat) continue;
    if (!stat.isCharacterDevice()) {
      problem ??= `${containerPath} is not a character device`;
      continue;
    }
    try {
      await fs.access(file, constants.R_OK | constants.W_OK);
      return { found: containerPath };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "error";
      problem ??= `${containerPath} exists but this process (uid ${process.getuid?.() ?? "?"}) cannot open it read-write (${code})`;
    }
  }
  return { problem: problem ?? `no ${role} device: none of ${candidates.join(", ")} exists in this container` };
}

/** Checks the enclave and provision nodes under `devRoot` (default "/"), symlinks followed as stat does. */
export async function checkSgxDevices(devRoot = "/"): Promise<DeviceCheck> {
  const [enclave, provision] = await Promise.all([findRole(devRoot, "enclave"), findRole(devRoot, "provision")]);
  const problems = [
    enclave.problem && `${enclave.problem}; ${HOW_TO_FIX.enclave}`,
    provision.problem && `${provision.problem}; ${HOW_TO_FIX.provision}`,
  ].filter((p): p is string => !!p);
  return problems.length
    ? { ok: false, reason: problems.join("; and "), enclave: enclave.found, provision: provision.found }
    : { ok: true, enclave: enclave.found, provision: provision.found };
}
