// What a simulated SGX platform is made of, as persisted by `confcom sim init` (src/sim/platform) and
// read by the simulated enclaves and QE3 (src/sim/enclave, src/sim/qe3), the PCCS and the tests.
import type { KeyObject } from "node:crypto";

export interface PlatformTcb {
  /** 16 SGX TCB component SVNs; the CPUSVN is these 16 bytes, in order. */
  components: number[];
  pceSvn: number;
}

export interface SimPlatform {
  /** The state directory it was loaded from. */
  dir: string;
  /** Secret from which the simulated CPU derives report keys (never logged, never leaves the dir). */
  platformSecret: Buffer;
  ppid: Buffer; // 16 bytes
  fmspc: Buffer; // 6 bytes
  pceId: Buffer; // 2 bytes
  tcb: PlatformTcb;
  /** CPUSVN as it appears in reports: Buffer.from(tcb.components). */
  cpuSvn: Buffer;
  epcMiB: number;
  qe: { isvSvn: number; qeId: Buffer /* 16 bytes */ };
  /** The QE3 attestation key (ECDSA P-256) that signs quotes. */
  attestationKey: KeyObject;
  /** The PCK private key that signs the QE report, and its chain PEM: leaf, PCK CA, root. */
  pckKey: KeyObject;
  pckChainPem: string;
  /** The simulated "SGX Root CA", the trust anchor relying parties are given (also root-ca.pem). */
  rootCaPem: string;
}
