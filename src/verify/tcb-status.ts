// TCB statuses as PCS writes them, and the platform/QE merge QVL applies (fact sheet section 6).

export const TCB_STATUSES = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
  "Revoked",
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

/** QE Identity levels only use these. */
export const QE_TCB_STATUSES = ["UpToDate", "OutOfDate", "Revoked"] as const;
export type QeTcbStatus = (typeof QE_TCB_STATUSES)[number];

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
