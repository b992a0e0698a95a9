// Finds this node's EPC size; the first source that answers wins: --epc-mib flag, sysfs, CPUID, simulation.
import { readCpuidEpc } from "./cpuid.js";
import { readSysfsEpc } from "./sysfs.js";
import type { SourceAnswer } from "./source-answer.js";
import { bytesToEpcMiB, checkEpcMiB, NoSgxError, type EpcDiscovery, type EpcSource } from "./types.js";

export const DEFAULT_SIM_EPC_MIB = 128;

export interface EpcDiscoveryOptions {
  /** The --epc-mib flag: wins over everything. */
  epcMiB?: number;
  /** Where the host's /sys and /dev are (a DaemonSet mounts them somewhere); default "/". */
  hostRoot?: string;
  /** Fall back to a simulated platform when the host has no SGX. */
  simulate?: boolean;
  /** EPC of the simulated platform; default DEFAULT_SIM_EPC_MIB. */
  simEpcMiB?: number;
}

export interface EpcProbe {
  found: EpcDiscovery | null;
  /** Why each source tried before (or instead of) the winner did not answer. */
  reasons: string[];
}

/**
 * Tries every source in order and says why the ones before the winner did not answer.
 * Throws EpcValueError when a source answers nonsense (0, fractional, more than 16 TiB, unparsable).
 */
export async function probeEpc(opts: EpcDiscoveryOptions = {}): Promise<EpcProbe> {
  if (opts.epcMiB !== undefined) {
    const epcMiB = checkEpcMiB(opts.epcMiB, "--epc-mib");
    return { found: { epcMiB, source: "flag", detail: `--epc-mib ${epcMiB}` }, reasons: [] };
  }
  const hostRoot = opts.hostRoot ?? "/";
  const reasons: string[] = [];
  const hardware: Array<[EpcSource, (root: string) => Promise<SourceAnswer>]> = [
    ["sysfs", readSysfsEpc],
    ["cpuid", readCpuidEpc],
  ];
  for (const [source, read] of hardware) {
    const answer = await read(hostRoot);
    if (!answer.found) {
      reasons.push(answer.reason);
      continue;
    }
    const epcMiB = bytesToEpcMiB(answer.bytes, source);
    if (epcMiB === 0) {
      reasons.push(`${source}: less than 1 MiB of EPC (${answer.detail})`);
      continue;
    }
    return { found: { epcMiB, source, detail: answer.detail }, reasons };
  }
  if (opts.simulate) {
    const epcMiB = checkEpcMiB(opts.simEpcMiB ?? DEFAULT_SIM_EPC_MIB, "simulated EPC size");
    return { found: { epcMiB, source: "simulated", detail: `simulated platform, ${epcMiB} MiB` }, reasons };
  }
  reasons.push("simulation not requested");
  return { found: null, reasons };
}

/** The EPC size, or null when this node has no SGX (use probeEpc or discoverEpcOrThrow for the reasons). */
export async function discoverEpc(opts: EpcDiscoveryOptions = {}): Promise<EpcDiscovery | null> {
  return (await probeEpc(opts)).found;
}

/** The EPC size, or a NoSgxError whose message lists why each source said no, on one line. */
export async function discoverEpcOrThrow(opts: EpcDiscoveryOptions = {}): Promise<EpcDiscovery> {
  const probe = await probeEpc(opts);
  if (!probe.found) throw new NoSgxError(probe.reasons);
  return probe.found;
}
