// What the daemon needs from the node, in one interface: the EPC size and the SGX device nodes. The
// default wires the discovery modules in ./epc and ./devices; tests may pass their own.
import { createSimulatedDevRoot, findSgxDeviceNodes, watchDeviceNodes } from "./devices/index.js";
import { hostNullDeviceNodes } from "./devices/simulated-dev-root.js";
import { probeEpc } from "./epc/index.js";
import type { SgxDeviceNode } from "./resource-manager.js";

export type EpcSource = "flag" | "sysfs" | "cpuid" | "simulated";

export type EpcFinding =
  | { found: true; epcMiB: number; source: EpcSource; detail: string }
  | { found: false; reasons: string[] };

export interface EpcQuery {
  epcMiB?: number;
  simulate: boolean;
  simEpcMiB?: number;
  hostRoot: string;
}

export interface DevicePlatform {
  discoverEpc(q: EpcQuery): Promise<EpcFinding>;
  findDeviceNodes(devRoot: string): Promise<SgxDeviceNode[]>;
  /** Calls `onChange` with the nodes present whenever they change; `stop` ends the watch. */
  watchDeviceNodes(devRoot: string, onChange: (nodes: SgxDeviceNode[]) => void, intervalMs: number): { stop(): void };
  /** Populates `dir` with simulated SGX device nodes and returns the dev root to use. */
  createSimulatedDevRoot(dir: string): Promise<string>;
}

/** The real node: EPC from --epc-mib, sysfs or CPUID (or the simulation), device nodes under the dev root. */
export const devicePlatform: DevicePlatform = {
  async discoverEpc(q) {
    const probe = await probeEpc({ epcMiB: q.epcMiB, hostRoot: q.hostRoot, simulate: q.simulate, simEpcMiB: q.simEpcMiB });
    return probe.found ? { found: true, ...probe.found } : { found: false, reasons: probe.reasons };
  },
  findDeviceNodes: (devRoot) => findSgxDeviceNodes(devRoot),
  watchDeviceNodes(devRoot, onChange, intervalMs) {
    return watchDeviceNodes(devRoot, (nodes) => onChange([...nodes]), { intervalMs, emitInitial: true });
  },
  createSimulatedDevRoot: (dir) => createSimulatedDevRoot(dir),
};

/** `base` with the host's /dev/null as the SGX device nodes (--sim-host-devices); EPC discovery unchanged. */
export function hostNullDevicePlatform(base: DevicePlatform): DevicePlatform {
  return {
    discoverEpc: (q) => base.discoverEpc(q),
    findDeviceNodes: async () => hostNullDeviceNodes(),
    watchDeviceNodes(_devRoot, onChange) {
      onChange(hostNullDeviceNodes());
      return { stop() {} };
    },
    createSimulatedDevRoot: async (dir) => dir,
  };
}

/**
 * `base` for a --dev-root that is the host's / mounted in the container (--host-dev-paths): nodes are
 * found under the dev root but handed to the kubelet by their paths on the host (/dev/...), which is
 * where the kubelet and the runtime open them.
 */
export function hostDevPathsPlatform(base: DevicePlatform): DevicePlatform {
  const onHost = (nodes: SgxDeviceNode[]) => nodes.map((n) => ({ ...n, hostPath: n.containerPath }));
  return {
    discoverEpc: (q) => base.discoverEpc(q),
    findDeviceNodes: async (devRoot) => onHost(await base.findDeviceNodes(devRoot)),
    watchDeviceNodes: (devRoot, onChange, intervalMs) => base.watchDeviceNodes(devRoot, (nodes) => onChange(onHost(nodes)), intervalMs),
    createSimulatedDevRoot: (dir) => base.createSimulatedDevRoot(dir),
  };
}
