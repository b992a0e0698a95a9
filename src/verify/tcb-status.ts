// The platform/QE status merge QVL applies (fact sheet section 6), over the shared status vocabulary.

import type { QeTcbStatus, TcbStatus } from "../collateral/tcb-status.js";

export { QE_TCB_STATUSES, TCB_STATUSES, type QeTcbStatus, type TcbStatus } from "../collateral/tcb-status.js";

/** A verification's overall status: a TCB status, or no TCB level matched the platform at all. */
export type VerificationStatus = TcbStatus | "TcbNotSupported";

/** QVL's convergence of the platform status with the QE's (an out-of-date QE taints the platform). */
export function mergeTcbStatus(platform: TcbStatus, qe: QeTcbStatus): TcbStatus {
  if (qe === "Revoked") return "Revoked";
  if (qe === "OutOfDate") {
    if (platform === "UpToDate" || platform === "SWHardeningNeeded") return "OutOfDate";
    if (platform === "ConfigurationNeeded" || platform === "ConfigurationAndSWHardeningNeeded") return "OutOfDateConfigurationNeeded";
  }
  return platform;
}
