// The SGX extension of the PCK leaf, decoded with the shared codec (src/dcap) and reported as a
// verification failure of this step when it is missing or malformed.
import { decodeSgxExtension, SGX_EXTENSION_OID, SgxExtensionError, type SgxExtensionValues } from "../dcap/sgx-extension.js";
import type { Cert } from "./certs.js";
import { fail } from "./errors.js";

export { SGX_EXTENSION_OID, SgxType } from "../dcap/sgx-extension.js";
export type SgxExtension = SgxExtensionValues;

const STEP = "pck-cert.sgx-extension";

export function parseSgxExtension(cert: Cert): SgxExtension {
  const ext = cert.extensions.get(SGX_EXTENSION_OID);
  if (!ext) return fail(STEP, "PCK certificate has no SGX extension");
  try {
    return decodeSgxExtension(ext);
  } catch (err) {
    if (err instanceof SgxExtensionError) return fail(STEP, err.message);
    throw err;
  }
}
