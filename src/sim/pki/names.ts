// Subject names in the style of Intel's SGX PKI: CN, O=Intel Corporation, L=Santa Clara, ST=CA, C=US,
// UTF8String except the PrintableString country, in that order (as in the real chain). Verifiers
// (QVL, dcap-qvl) find chain members by CN substrings, so every CN contains Intel's phrase.
import type { JsonNameParams } from "@peculiar/x509";

export type PckCaType = "processor" | "platform";

export const DEFAULT_CN_PREFIX = "Confcom Simulated ";

export const CN = {
  root: "SGX Root CA",
  pckCa: (t: PckCaType) => (t === "processor" ? "SGX PCK Processor CA" : "SGX PCK Platform CA"),
  pck: "SGX PCK Certificate",
  tcbSigning: "SGX TCB Signing",
} as const;

export function intelStyleName(commonName: string): JsonNameParams {
  return [
    { CN: [{ utf8String: commonName }] },
    { O: [{ utf8String: "Intel Corporation" }] },
    { L: [{ utf8String: "Santa Clara" }] },
    { ST: [{ utf8String: "CA" }] },
    { C: [{ printableString: "US" }] },
  ];
}

/** CRL distribution points under `baseUrl`, both served in DER by our PCCS (`confcom pccs`). */
export function crlUrls(baseUrl: string) {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    root: `${base}/sgx/certification/v4/rootcacrl?encoding=der`,
    pck: (t: PckCaType) => `${base}/sgx/certification/v4/pckcrl?ca=${t}&encoding=der`,
  };
}
