// The simulated QE3's identity: Intel's QE3 signer and product id, the real QE's attributes, and a
// MRENCLAVE of our own (it measures no real code, so it must not pretend to be a real QE build).
import { createHash } from "node:crypto";
import { INTEL_QE3_ISV_PROD_ID, INTEL_QE3_MRSIGNER } from "../../sgx/constants.js";
import type { SimPlatform } from "../platform/types.js";
import { ATTR_INIT, ATTR_MODE64, ATTR_PROVISION_KEY, XFRM_DEFAULT, simEnclaveIdentity, type SimEnclaveIdentity } from "../enclave/identity.js";

export const SIM_QE3_MRENCLAVE = createHash("sha256").update("confcom simulated QE3 v1").digest();
/** INIT | MODE64 | PROVISION_KEY = 0x15, xfrm 0xe7: the real QE3's report in Intel's sample quote. */
export const QE3_ATTRIBUTES = { flags: ATTR_INIT | ATTR_MODE64 | ATTR_PROVISION_KEY, xfrm: XFRM_DEFAULT };

export function qe3Identity(platform: { qe: Pick<SimPlatform["qe"], "isvSvn"> }): SimEnclaveIdentity {
  return simEnclaveIdentity({
    mrEnclave: Buffer.from(SIM_QE3_MRENCLAVE),
    mrSigner: Buffer.from(INTEL_QE3_MRSIGNER),
    attributes: { ...QE3_ATTRIBUTES },
    isvProdId: INTEL_QE3_ISV_PROD_ID,
    isvSvn: platform.qe.isvSvn,
  });
}
