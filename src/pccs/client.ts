// Fetches quote verification collateral from a PCCS (or Intel's PCS) v4 API and reassembles it into
// the Collateral shape: signed bodies byte-exact, chains PEM (URL-decoded), CRLs hex DER.
import type { Collateral } from "../collateral/types.js";
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

const hexOf = async (res: Response) => Buffer.from(await res.arrayBuffer()).toString("hex");

export interface FetchOptions {
  timeoutMs?: number;
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

  const envelopeOf = async (field: "tcbInfo" | "enclaveIdentity", res: Response, url: string) => {
    try {
      return openEnvelope(field, await res.text());
    } catch (e) {
      throw new PccsClientError(`GET ${url}: ${(e as Error).message}`);
    }
  };
  const tcb = await envelopeOf("tcbInfo", tcbRes, tcbUrl);
  const qe = await envelopeOf("enclaveIdentity", qeRes, qeUrl);
  return {
    pck_crl_issuer_chain: chain(crlRes, HEADERS.pckCrlIssuerChain, crlUrl),
    root_ca_crl: await rootCrlHex(rootRes),
    pck_crl: await hexOf(crlRes),
    tcb_info_issuer_chain: chain(tcbRes, HEADERS.tcbInfoIssuerChain, tcbUrl),
    tcb_info: tcb.body,
    tcb_info_signature: tcb.signature,
    qe_identity_issuer_chain: chain(qeRes, HEADERS.enclaveIdentityIssuerChain, qeUrl),
    qe_identity: qe.body,
    qe_identity_signature: qe.signature,
  };
}

/** Root CA CRL as hex DER; some PCCS versions answer with the DER as a hex string. */
async function rootCrlHex(res: Response): Promise<string> {
  const raw = Buffer.from(await res.arrayBuffer());
  const asText = raw.toString("latin1").trim();
  return raw[0] === 0x30 ? raw.toString("hex") : /^[0-9a-fA-F]+$/.test(asText) ? asText.toLowerCase() : raw.toString("hex");
}
