// Collateral verification, independent of any quote and therefore cacheable: CRLs, the TCB Info and
// QE Identity signatures under their issuer chains, and the typed parse of both bodies.
import type { Collateral } from "../collateral/types.js";
import type { Validity } from "./certs.js";
import { PCK_CRL_ISSUER_CHAIN_CNS, TCB_SIGNING_CHAIN_CNS, verifyChain } from "./chain.js";
import { revocationOf, verifyCrl, type VerifiedCrl } from "./crl.js";
import { fail } from "./errors.js";
import { DEFAULT_MAX_COLLATERAL_BYTES } from "./limits.js";
import { parseQeIdentity, type QeIdentity } from "./qe-identity.js";
import { verifySignedJson } from "./signed-json.js";
import { parseTcbInfo, type TcbInfo } from "./tcb-info.js";
import type { TrustedRoot } from "./trusted-root.js";

export interface VerifiedCollateral {
  rootCrl: VerifiedCrl;
  pckCrl: VerifiedCrl;
  tcbInfo: TcbInfo;
  qeIdentity: QeIdentity;
  /** Everything that must be valid at verification time. */
  validity: Validity[];
}

export const COLLATERAL_FIELDS: readonly (keyof Collateral)[] = [
  "pck_crl_issuer_chain",
  "root_ca_crl",
  "pck_crl",
  "tcb_info_issuer_chain",
  "tcb_info",
  "tcb_info_signature",
  "qe_identity_issuer_chain",
  "qe_identity",
  "qe_identity_signature",
];

const HEX_FIELDS: ReadonlySet<keyof Collateral> = new Set(["root_ca_crl", "pck_crl", "tcb_info_signature", "qe_identity_signature"]);

/**
 * Checks the JSON shape of untyped input (e.g. a parsed collateral file) before anything reads it, and
 * that no document is over `maxBytes` (hex fields counted as the bytes they encode).
 */
export function asCollateral(value: unknown, maxBytes = DEFAULT_MAX_COLLATERAL_BYTES): Collateral {
  if (typeof value !== "object" || value === null) return fail("collateral.parse", "collateral must be a JSON object");
  const o = value as Record<string, unknown>;
  for (const f of COLLATERAL_FIELDS) {
    const v = o[f];
    if (typeof v !== "string") fail("collateral.parse", `collateral.${f} must be a string`);
    const bytes = HEX_FIELDS.has(f) ? (v as string).length / 2 : (v as string).length;
    if (bytes > maxBytes) fail("collateral.size", `collateral.${f} is ${Math.ceil(bytes)} bytes, above the limit of ${maxBytes}`);
  }
  return o as unknown as Collateral;
}

/** A key that identifies collateral by its full content (never by signatures alone). */
export const collateralContentKey = (c: Collateral): string => COLLATERAL_FIELDS.map((f) => c[f]).join("\u0000");

function verifySignedBody(
  step: string,
  what: string,
  chainPem: string,
  body: string,
  signature: string,
  root: TrustedRoot,
  rootCrl: VerifiedCrl,
) {
  const chain = verifyChain(`${step}.issuer-chain`, `${what} issuer chain`, chainPem, TCB_SIGNING_CHAIN_CNS, root);
  const revoked = revocationOf(`${step}.issuer-chain`, rootCrl, chain.certs[0]);
  if (revoked) fail(`${step}.issuer-chain`, revoked);
  verifySignedJson(`${step}.signature`, what, body, signature, chain.certs[0].key);
  return chain.validity;
}

export function verifyCollateral(c: Collateral, root: TrustedRoot, maxBytes = DEFAULT_MAX_COLLATERAL_BYTES): VerifiedCollateral {
  asCollateral(c, maxBytes);
  const rootCrl = verifyCrl("collateral.root-ca-crl", "root CA CRL", c.root_ca_crl, root.cert);
  const pckCrlChain = verifyChain("collateral.pck-crl-issuer-chain", "PCK CRL issuer chain", c.pck_crl_issuer_chain, PCK_CRL_ISSUER_CHAIN_CNS, root);
  const pckCrl = verifyCrl("collateral.pck-crl", "PCK CRL", c.pck_crl, pckCrlChain.certs[0]);
  const tcbValidity = verifySignedBody("tcb-info", "TCB Info", c.tcb_info_issuer_chain, c.tcb_info, c.tcb_info_signature, root, rootCrl);
  const tcbInfo = parseTcbInfo(c.tcb_info);
  const qeValidity = verifySignedBody("qe-identity", "QE Identity", c.qe_identity_issuer_chain, c.qe_identity, c.qe_identity_signature, root, rootCrl);
  const qeIdentity = parseQeIdentity(c.qe_identity);
  return {
    rootCrl,
    pckCrl,
    tcbInfo,
    qeIdentity,
    // The signed documents first: when everything lapses together, "TCB Info expired" is the useful report.
    validity: [
      { step: "tcb-info.validity", what: "TCB Info", notBefore: tcbInfo.issueDate, notAfter: tcbInfo.nextUpdate },
      { step: "qe-identity.validity", what: "QE Identity", notBefore: qeIdentity.issueDate, notAfter: qeIdentity.nextUpdate },
      rootCrl.validity,
      pckCrl.validity,
      ...pckCrlChain.validity,
      ...tcbValidity,
      ...qeValidity,
    ],
  };
}
