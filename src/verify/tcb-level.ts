// TCB level selection (QVL TcbLevelCheck / EnclaveReportVerifier): the first level, highest first,
// that the platform's (resp. the QE's) SVNs all reach.
import type { QeIdentity, QeTcbLevel } from "./qe-identity.js";
import type { SgxExtension } from "./sgx-extension.js";
import type { TcbInfo, TcbLevel } from "./tcb-info.js";

/** The platform's TCB level from its PCK certificate's TCB, or undefined (TCB not supported). */
export function selectPlatformLevel(tcbInfo: TcbInfo, pck: SgxExtension): TcbLevel | undefined {
  return tcbInfo.tcbLevels.find((l) => l.sgxComponents.every((svn, i) => pck.components[i] >= svn) && pck.pceSvn >= l.pceSvn);
}

/** The QE's level by its ISVSVN, or undefined when it is below every level (QVL: ISVSVN not supported). */
export function selectQeLevel(identity: QeIdentity, isvSvn: number): QeTcbLevel | undefined {
  return identity.tcbLevels.find((l) => isvSvn >= l.isvSvn);
}

/** Advisory IDs as verifiers report them: the platform level's, then the QE level's, without repeats. */
export function mergeAdvisories(platform: readonly string[], qe: readonly string[]): string[] {
  return qe.length === 0 ? [...platform] : [...new Set([...platform, ...qe])];
}
