// What a successful verification reports. Plain JSON-ready values (hex strings, ISO dates).
import type { PckCaType } from "./pck.js";
import type { QeTcbStatus, TcbStatus, VerificationStatus } from "./tcb-status.js";

export interface EnclaveIdentity {
  mrEnclave: string;
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
  miscSelect: number;
  /** Hex of the attributes' flags and xfrm (u64 each). */
  attributes: { flags: string; xfrm: string };
  debug: boolean;
}

export interface VerificationResult {
  /** UpToDate is the only fully trusted status; see exit-codes.ts for how the CLI reports the others. */
  status: VerificationStatus;
  /** The platform's TCB level status (absent when no level matched). */
  platformStatus?: TcbStatus;
  /** The QE's level status (absent when its ISVSVN is below every level: status is then TcbNotSupported). */
  qeStatus?: QeTcbStatus;
  /** Union of the platform level's and the QE level's advisories, in that order. */
  advisoryIds: string[];
  /** Set when the PCK certificate or its CA is revoked (status is then Revoked). */
  revocation?: string;
  tcbDate?: string;
  fmspc: string;
  pceId: string;
  caType: PckCaType;
  /** The earliest expiry among all certificates, CRLs, TCB Info and QE Identity used. */
  collateralExpiresAt: string;
  enclave: EnclaveIdentity;
  /** The ISV enclave's 64-byte report data, hex. */
  reportData: string;
}
