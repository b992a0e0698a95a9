// Certificate chains to the trusted root (QVL PckCertVerifier / the collateral issuer chains): expected
// length and CNs, required extensions, each link's name and signature, and a root that is the trusted
// root itself.
import { certValidity, parsePemBlocks, parsePemChain, type Cert, type Validity } from "./certs.js";
import { fail } from "./errors.js";
import type { TrustedRoot } from "./trusted-root.js";

/** CN patterns QVL recognises, leaf first. */
export const PCK_CHAIN_CNS = [/SGX PCK Certificate/, /SGX PCK (Platform|Processor) CA/, /SGX Root CA/];
export const TCB_SIGNING_CHAIN_CNS = [/SGX TCB Signing/, /SGX Root CA/];
export const PCK_CRL_ISSUER_CHAIN_CNS = [/SGX PCK (Platform|Processor) CA/, /SGX Root CA/];

/** AKI, CRL distribution points, SKI, key usage, basic constraints: QVL requires all on every certificate. */
export const REQUIRED_EXTENSIONS = ["2.5.29.35", "2.5.29.31", "2.5.29.14", "2.5.29.15", "2.5.29.19"];

export interface VerifiedChain {
  certs: Cert[];
  validity: Validity[];
}

export function checkRequiredExtensions(step: string, what: string, c: Cert): void {
  for (const oid of REQUIRED_EXTENSIONS) if (!c.extensions.has(oid)) fail(step, `${what} "${c.cn}" lacks extension ${oid}`);
}

/**
 * Parses `pem` (a bundle, or its blocks split already) and checks it is exactly `cns.length`
 * certificates, leaf first, each named as expected and signed by the next, ending in a self-signed copy
 * of the trusted root.
 */
export function verifyChain(step: string, what: string, pem: string | readonly string[], cns: RegExp[], root: TrustedRoot): VerifiedChain {
  const certs = typeof pem === "string" ? parsePemChain(step, what, pem) : parsePemBlocks(step, what, pem);
  if (certs.length !== cns.length) fail(step, `${what} must have ${cns.length} certificates, has ${certs.length}`);
  certs.forEach((c, i) => {
    if (!cns[i].test(c.cn)) fail(step, `${what} certificate ${i} has CN "${c.cn}", expected ${cns[i].source}`);
    checkRequiredExtensions(step, what, c);
  });
  for (let i = 0; i < certs.length; i++) {
    const issuer = certs[Math.min(i + 1, certs.length - 1)];
    if (!certs[i].issuerDer.equals(issuer.subjectDer)) fail(step, `${what}: "${certs[i].cn}" is issued by "${certs[i].issuer}", not by "${issuer.subject}"`);
    if (!root.links.isSignedBy(certs[i], issuer)) fail(step, `${what}: signature of "${certs[i].cn}" does not verify under "${issuer.cn}"`);
  }
  if (!certs[certs.length - 1].signature.equals(root.cert.signature)) fail(step, `${what} does not end in the trusted root (root signature differs)`);
  return { certs, validity: certs.map((c) => certValidity(step, `${what} "${c.cn}"`, c)) };
}
