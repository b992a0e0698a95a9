// Renders a parsed quote for people (aligned "field: value" lines) and for programs (JSON with hex
// strings and bigints as decimal strings). Shared by `confcom quote inspect` and anything that logs quotes.
import { X509Certificate } from "node:crypto";
import { intelName } from "./bytes.js";
import { pckChainFromCertData } from "./cert-data.js";
import { CertDataType, QUOTE_SIG_DATA_OFFSET, QUOTE_V3_FIXED_SIZE } from "./constants.js";
import type { Attributes, QuoteV3 } from "./types.js";

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Buffers become hex strings and bigints decimal strings, recursively. */
export function toJson(value: unknown): Json {
  if (Buffer.isBuffer(value)) return value.toString("hex");
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value as Json;
}

export interface CertSummary {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
}

/** The PCK chain of a type-5 quote, summarised; an error string when the chain does not decode. */
export function pckChainSummary(q: QuoteV3): CertSummary[] | string | undefined {
  if (q.signatureData.certification.type !== CertDataType.PCK_CERT_CHAIN) return undefined;
  try {
    return pckChainFromCertData(q.signatureData.certification).map((pem) => {
      const c = new X509Certificate(pem);
      return {
        subject: c.subject.replace(/\n/g, ", "),
        issuer: c.issuer.replace(/\n/g, ", "),
        notBefore: new Date(c.validFrom).toISOString(),
        notAfter: new Date(c.validTo).toISOString(),
      };
    });
  } catch (err) {
    return `invalid: ${(err as Error).message}`;
  }
}

export function quoteToJson(q: QuoteV3): Json {
  const cert = q.signatureData.certification;
  const chain = pckChainSummary(q);
  return toJson({
    header: q.header,
    isvReport: q.isvReport,
    signatureDataLen: QUOTE_V3_FIXED_SIZE - QUOTE_SIG_DATA_OFFSET + q.signatureData.qeAuthData.length + cert.data.length,
    signatureData: {
      ...q.signatureData,
      qeAuthDataSize: q.signatureData.qeAuthData.length,
      certification: { type: cert.type, size: cert.data.length, data: cert.data, ...(chain === undefined ? {} : { pckChain: chain }) },
    },
  });
}

const ATTRIBUTE_FLAGS: [bigint, string][] = [
  [0x1n, "INIT"],
  [0x2n, "DEBUG"],
  [0x4n, "MODE64"],
  [0x10n, "PROVISION_KEY"],
  [0x20n, "EINITTOKEN_KEY"],
  [0x80n, "KSS"],
];

function flagNames(a: Attributes): string {
  const names = ATTRIBUTE_FLAGS.filter(([bit]) => (a.flags & bit) !== 0n).map(([, n]) => n);
  return names.length ? ` (${names.join("|")})` : "";
}

function lines(prefix: string, value: unknown, out: [string, string][]): void {
  if (Buffer.isBuffer(value)) out.push([prefix, value.length === 0 ? "(empty)" : value.toString("hex")]);
  else if (typeof value === "bigint") out.push([prefix, `0x${value.toString(16).padStart(16, "0")}`]);
  else if (typeof value === "number") out.push([prefix, `${value} (0x${value.toString(16)})`]);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) lines(prefix ? `${prefix}.${intelName(k)}` : intelName(k), v, out);
    if ("flags" in value && "xfrm" in value) out[out.length - 2][1] += flagNames(value as Attributes);
  } else out.push([prefix, String(value)]);
}

export function formatQuote(q: QuoteV3): string {
  const out: [string, string][] = [];
  const { certification, ...sig } = q.signatureData;
  lines("header", q.header, out);
  lines("isv_report", q.isvReport, out);
  out.push(["signature_data_len", String(QUOTE_V3_FIXED_SIZE - QUOTE_SIG_DATA_OFFSET + sig.qeAuthData.length + certification.data.length)]);
  const { qeAuthData, ...fixed } = sig;
  lines("signature_data", { ...fixed, qeAuthDataSize: qeAuthData.length, qeAuthData }, out);
  out.push(["signature_data.certification.type", `${certification.type} (${CertDataType[certification.type] ?? "unknown"})`]);
  out.push(["signature_data.certification.size", String(certification.data.length)]);
  const chain = pckChainSummary(q);
  if (chain === undefined) out.push(["signature_data.certification.data", certification.data.toString("hex")]);
  else if (typeof chain === "string") out.push(["signature_data.certification.pck_chain", chain]);
  else {
    chain.forEach((c, i) => {
      const p = `signature_data.certification.pck_chain[${i}]`;
      out.push([`${p}.subject`, c.subject], [`${p}.issuer`, c.issuer], [`${p}.not_before`, c.notBefore], [`${p}.not_after`, c.notAfter]);
    });
  }
  const width = Math.max(...out.map(([k]) => k.length)) + 1;
  return out.map(([k, v]) => `${(k + ":").padEnd(width)} ${v}`).join("\n") + "\n";
}
