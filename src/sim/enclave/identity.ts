// Who a simulated enclave is: the measurement and signer fields hardware copies into its reports.
import { createHash } from "node:crypto";
import type { Attributes, TargetInfo } from "../../sgx/types.js";
import { emptyTargetInfo } from "../../sgx/report.js";

export const ATTR_INIT = 0x1n;
export const ATTR_DEBUG = 0x2n;
export const ATTR_MODE64 = 0x4n;
export const ATTR_PROVISION_KEY = 0x10n;
/** x87 | SSE | AVX | AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM), as on the sample quote's platform. */
export const XFRM_DEFAULT = 0xe7n;

export interface SimEnclaveIdentity {
  mrEnclave: Buffer; // 32
  mrSigner: Buffer; // 32
  attributes: Attributes;
  miscSelect: number;
  isvProdId: number;
  isvSvn: number;
  isvExtProdId: Buffer; // 16
  isvFamilyId: Buffer; // 16
  configId: Buffer; // 64
  configSvn: number;
}

/** The fields of a target that its report key is bound to (what EGETKEY(REPORT) mixes in). */
export type ReportKeyTarget = Pick<TargetInfo, "mrEnclave" | "attributes" | "miscSelect" | "configId" | "configSvn">;

const tag = (s: string) => createHash("sha256").update(s).digest();

/** A demo app enclave: fixed MRENCLAVE/MRSIGNER, production mode unless `debug`. */
export function simEnclaveIdentity(overrides: Partial<SimEnclaveIdentity> & { debug?: boolean } = {}): SimEnclaveIdentity {
  const { debug, ...rest } = overrides;
  return {
    mrEnclave: tag("confcom simulated app enclave"),
    mrSigner: tag("confcom simulated app enclave signer"),
    attributes: { flags: ATTR_INIT | ATTR_MODE64 | (debug ? ATTR_DEBUG : 0n), xfrm: XFRM_DEFAULT },
    miscSelect: 0,
    isvProdId: 0,
    isvSvn: 0,
    isvExtProdId: Buffer.alloc(16),
    isvFamilyId: Buffer.alloc(16),
    configId: Buffer.alloc(64),
    configSvn: 0,
    ...rest,
  };
}

/** sgx_target_info_t naming this enclave, what others pass to EREPORT to target it. */
export function targetInfoOf(id: SimEnclaveIdentity): TargetInfo {
  return {
    ...emptyTargetInfo(),
    mrEnclave: Buffer.from(id.mrEnclave),
    attributes: { ...id.attributes },
    miscSelect: id.miscSelect,
    configId: Buffer.from(id.configId),
    configSvn: id.configSvn,
  };
}
