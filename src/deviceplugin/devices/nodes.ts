// SGX device nodes on the host: which of the known paths exist as character devices.
import { promises as fs } from "node:fs";
import path from "node:path";

export type SgxNodeRole = "enclave" | "provision";

export interface SgxDeviceNode {
  /** The path inside the container, the same as on a host whose /dev is at "/". */
  containerPath: string;
  /** The path where this process sees it (under devRoot). */
  hostPath: string;
  role: SgxNodeRole;
}

/** Known nodes, in order: in-kernel driver (5.11+), its DCAP-driver-era aliases, the legacy out-of-tree driver. */
export const SGX_DEVICE_CANDIDATES: ReadonlyArray<{ containerPath: string; role: SgxNodeRole }> = [
  { containerPath: "/dev/sgx_enclave", role: "enclave" },
  { containerPath: "/dev/sgx_provision", role: "provision" },
  { containerPath: "/dev/sgx/enclave", role: "enclave" },
  { containerPath: "/dev/sgx/provision", role: "provision" },
  { containerPath: "/dev/isgx", role: "enclave" },
];

/** The candidates present under `devRoot` (default "/") as character devices, symlinks followed. */
export async function findSgxDeviceNodes(devRoot = "/"): Promise<SgxDeviceNode[]> {
  const found = await Promise.all(
    SGX_DEVICE_CANDIDATES.map(async ({ containerPath, role }) => {
      const hostPath = path.join(devRoot, containerPath);
      const stat = await fs.stat(hostPath).catch(() => null);
      return stat?.isCharacterDevice() ? { containerPath, hostPath, role } : null;
    }),
  );
  return found.filter((n): n is SgxDeviceNode => n !== null);
}

/** The health signal: at least one node through which enclaves can be created. */
export function enclaveAvailable(nodes: readonly SgxDeviceNode[]): boolean {
  return nodes.some((n) => n.role === "enclave");
}

/** True when both lists name the same nodes at the same paths (order as produced by findSgxDeviceNodes). */
export function sameDeviceNodes(a: readonly SgxDeviceNode[], b: readonly SgxDeviceNode[]): boolean {
  return a.length === b.length && a.every((n, i) => n.hostPath === b[i]!.hostPath && n.containerPath === b[i]!.containerPath);
}
