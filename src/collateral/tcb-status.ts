// The TCB statuses PCS writes in TCB Info levels and QE Identity levels: the vocabulary shared by the
// collateral we generate (src/sim/collateral) and the collateral we verify (src/verify).

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
