// Intel PCS/PCCS v4 API constants shared by the simulated PCCS and its client: paths, header names
// (as in Intel's PCS v4 documentation) and the envelope of the signed JSON bodies.

export const API_PREFIX = "/sgx/certification/v4";

export const PATHS = {
  tcb: `${API_PREFIX}/tcb`,
  qeIdentity: `${API_PREFIX}/qe/identity`,
  pckCrl: `${API_PREFIX}/pckcrl`,
  rootCaCrl: `${API_PREFIX}/rootcacrl`,
  pckCert: `${API_PREFIX}/pckcert`,
} as const;

export const HEADERS = {
  tcbInfoIssuerChain: "TCB-Info-Issuer-Chain",
  enclaveIdentityIssuerChain: "SGX-Enclave-Identity-Issuer-Chain",
  pckCrlIssuerChain: "SGX-PCK-CRL-Issuer-Chain",
  pckCertIssuerChain: "SGX-PCK-Certificate-Issuer-Chain",
  tcbm: "SGX-TCBm",
  fmspc: "SGX-FMSPC",
  pckCaType: "SGX-PCK-Certificate-CA-Type",
  requestId: "Request-ID",
  errorCode: "Error-Code",
  errorMessage: "Error-Message",
} as const;

/** `{"<field>":<body>,"signature":"<hex>"}`: the body bytes are kept exactly as signed. */
export function envelope(field: "tcbInfo" | "enclaveIdentity", body: string, signatureHex: string): string {
  return `{"${field}":${body},"signature":"${signatureHex}"}`;
}

export class EnvelopeError extends Error {
  override name = "EnvelopeError";
}

/** The exact signed body and the signature out of an envelope, without re-serializing the body. */
export function openEnvelope(field: "tcbInfo" | "enclaveIdentity", text: string): { body: string; signature: string } {
  const t = text.trim();
  const head = `{"${field}":`;
  const tail = /,\s*"signature"\s*:\s*"([0-9a-fA-F]+)"\s*\}$/.exec(t);
  if (!t.startsWith(head) || !tail) throw new EnvelopeError(`expected {"${field}":{...},"signature":"<hex>"}, got ${JSON.stringify(t.slice(0, 60))}...`);
  const body = t.slice(head.length, tail.index);
  try {
    JSON.parse(body);
  } catch (e) {
    throw new EnvelopeError(`${field} is not valid JSON: ${(e as Error).message}`);
  }
  return { body, signature: tail[1]! };
}
