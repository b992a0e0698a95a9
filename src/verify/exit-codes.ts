// The CLI's exit codes: 0 only for UpToDate, one per other status, one per failure class.
import type { FailureClass } from "./errors.js";
import type { VerificationStatus } from "./tcb-status.js";

export const EXIT_CODES = {
  UpToDate: 0,
  SWHardeningNeeded: 10,
  ConfigurationNeeded: 11,
  ConfigurationAndSWHardeningNeeded: 12,
  OutOfDate: 13,
  OutOfDateConfigurationNeeded: 14,
  Revoked: 15,
  TcbNotSupported: 16,
  usage: 2,
  "invalid-quote": 20,
  "invalid-signature-or-collateral": 21,
  expired: 22,
  policy: 23,
  "collateral-unavailable": 24,
} as const satisfies Record<VerificationStatus | FailureClass | "usage" | "collateral-unavailable", number>;

export const exitCodeForStatus = (s: VerificationStatus): number => EXIT_CODES[s];
export const exitCodeForFailure = (f: FailureClass): number => EXIT_CODES[f];

export const EXIT_CODES_HELP = `
Exit codes:
   0  UpToDate
  10  SWHardeningNeeded
  11  ConfigurationNeeded
  12  ConfigurationAndSWHardeningNeeded
  13  OutOfDate
  14  OutOfDateConfigurationNeeded
  15  Revoked (TCB level, QE, PCK certificate or its CA)
  16  TCB not supported (no TCB level matches the platform, or the QE is below every QE level)
   2  usage error (bad option or unreadable input file)
  20  invalid quote (malformed, or not a v3 ECDSA SGX quote with a PCK chain)
  21  signature, certificate chain, CRL or collateral content check failed
  22  expired (or not yet valid) certificate, CRL, TCB Info or QE Identity at --now
  23  rejected by policy: debug ISV enclave without --allow-debug
  24  collateral could not be fetched from --pccs`;
