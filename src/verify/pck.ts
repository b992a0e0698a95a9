// The PCK certificate chain from the quote's certification data (type 5), verified to the trusted root,
// with its leaf key imported and its SGX extension parsed. Depends only on the chain: cacheable.
import type { KeyObject } from "node:crypto";
import { pckChainFromCertData, SgxCodecError, type CertificationData } from "../sgx/index.js";
import type { Cert } from "./certs.js";
import { PCK_CHAIN_CNS, verifyChain, type VerifiedChain } from "./chain.js";
import { VerificationError } from "./errors.js";
import { parseSgxExtension, type SgxExtension } from "./sgx-extension.js";
import type { TrustedRoot } from "./trusted-root.js";

export type PckCaType = "processor" | "platform";

export interface VerifiedPck extends VerifiedChain {
  leaf: Cert;
  intermediate: Cert;
  key: KeyObject;
  sgx: SgxExtension;
  caType: PckCaType;
}

/** The PEM blocks of the chain, as the certification-data codec splits them. */
export function pckChainBlocks(cert: CertificationData): string[] {
  try {
    return pckChainFromCertData(cert);
  } catch (e) {
    if (e instanceof SgxCodecError) throw new VerificationError("quote.certification-data", "invalid-quote", e.message);
    throw e;
  }
}

export function verifyPck(chain: string | readonly string[], root: TrustedRoot): VerifiedPck {
  const verified = verifyChain("pck-chain", "PCK certificate chain", chain, PCK_CHAIN_CNS, root);
  const [leaf, intermediate] = verified.certs;
  return {
    ...verified,
    leaf,
    intermediate,
    key: leaf.key,
    sgx: parseSgxExtension(leaf),
    caType: /Platform/.test(intermediate.cn) ? "platform" : "processor",
  };
}
