// Fetches quote verification collateral from a PCCS (or Intel's PCS) v4 API and reassembles it into
// the Collateral shape: signed bodies byte-exact, chains PEM (URL-decoded), CRLs hex DER.
import type { Collateral } from "../collateral/types.js";
import { DEFAULT_MAX_COLLATERAL_BYTES } from "../verify/limits.js";
import { HEADERS, openEnvelope, PATHS } from "./api.js";

export type PckCaType = "processor" | "platform";

export class PccsClientError extends Error {
  override name = "PccsClientError";
}

/** `http://host:port` or a URL already ending in /sgx/certification/v4. */
function baseOf(pccsUrl: string): string {
  const u = pccsUrl.replace(/\/+$/, "");
  return u.endsWith(PATHS.tcb.replace(/\/tcb$/, "")) ? u.slice(0, -PATHS.tcb.replace(/\/tcb$/, "").length) : u;
}

async function get(url: string, timeoutMs: number): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new PccsClientError(`GET ${url} failed: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ""}`);
  }
  if (!res.ok) {
    const msg = res.headers.get(HEADERS.errorMessage);
    throw new PccsClientError(`GET ${url}: HTTP ${res.status}${msg ? `: ${decodeURIComponent(msg)}` : ""}`);
  }
  return res;
}

function chain(res: Response, header: string, url: string): string {
  const v = res.headers.get(header);
  if (!v) throw new PccsClientError(`GET ${url}: response has no ${header} header`);
  return decodeURIComponent(v);
}

/**
 * The body, refused once it is over `max` bytes: by its declared Content-Length before reading, else
 * while streaming (the rest is never read, the connection is dropped).
 */
async function bodyOf(res: Response, url: string, max: number): Promise<Buffer> {
  const tooLarge = (what: string) => new PccsClientError(`GET ${url}: response body ${what} is over the limit of ${max} bytes`);
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    throw tooLarge(`of ${declared} bytes`);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge(`(more than ${max} bytes streamed)`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

export interface FetchOptions {
  timeoutMs?: number;
  /** Largest response body accepted (default DEFAULT_MAX_COLLATERAL_BYTES, 4 MiB). */
  maxResponseBytes?: number;
}

export async function fetchCollateral(pccsUrl: string, fmspc: string | Buffer, caType: PckCaType, opts: FetchOptions = {}): Promise<Collateral> {
  const base = baseOf(pccsUrl);
  const timeout = opts.timeoutMs ?? 10_000;
  const fmspcHex = (typeof fmspc === "string" ? fmspc : fmspc.toString("hex")).toUpperCase();
  if (!/^[0-9A-F]{12}$/.test(fmspcHex)) throw new PccsClientError(`FMSPC must be 6 bytes (12 hex digits), got "${fmspcHex}"`);

  const tcbUrl = `${base}${PATHS.tcb}?fmspc=${fmspcHex}`;
  const qeUrl = `${base}${PATHS.qeIdentity}`;
  const crlUrl = `${base}${PATHS.pckCrl}?ca=${caType}&encoding=der`;
  const rootUrl = `${base}${PATHS.rootCaCrl}`;
  const [tcbRes, qeRes, crlRes, rootRes] = await Promise.all([tcbUrl, qeUrl, crlUrl, rootUrl].map((u) => get(u, timeout))) as [Response, Response, Response, Response];

  const max = opts.maxResponseBytes ?? DEFAULT_MAX_COLLATERAL_BYTES;
  // All four bodies are read together, so one that is too large cancels nothing else it waits on.
  const [tcbBody, qeBody, crlBody, rootBody] = await Promise.all([
    bodyOf(tcbRes, tcbUrl, max),
    bodyOf(qeRes, qeUrl, max),
    bodyOf(crlRes, crlUrl, max),
    bodyOf(rootRes, rootUrl, max),
  ]);
  const envelopeOf = (field: "tcbInfo" | "enclaveIdentity", body: Buffer, url: string) => {
    try {
      return openEnvelope(field, body.toString("utf8"));
    } catch (e) {
      throw new PccsClientError(`GET ${url}: ${(e as Error).message}`);
    }
  };
  const tcb = envelopeOf("tcbInfo", tcbBody, tcbUrl);
  const qe = envelopeOf("enclaveIdentity", qeBody, qeUrl);
  return {
    pck_crl_issuer_chain: chain(crlRes, HEADERS.pckCrlIssuerChain, crlUrl),
    root_ca_crl: rootCrlHex(rootBody),
    pck_crl: crlBody.toString("hex"),
    tcb_info_issuer_chain: chain(tcbRes, HEADERS.tcbInfoIssuerChain, tcbUrl),
    tcb_info: tcb.body,
    tcb_info_signature: tcb.signature,
    qe_identity_issuer_chain: chain(qeRes, HEADERS.enclaveIdentityIssuerChain, qeUrl),
    qe_identity: qe.body,
    qe_identity_signature: qe.signature,
  };
}

/** Root CA CRL as hex DER; some PCCS versions answer with the DER as a hex string. */
function rootCrlHex(raw: Buffer): string {
  const asText = raw.toString("latin1").trim();
  return raw[0] === 0x30 ? raw.toString("hex") : /^[0-9a-fA-F]+$/.test(asText) ? asText.toLowerCase() : raw.toString("hex");
}
