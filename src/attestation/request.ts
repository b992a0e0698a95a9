// The attest request body, decoded once at the edge into bytes and checked types. Binary fields are
// base64url as MAA's clients send them; padded standard base64 is accepted too (newer REST examples).
import { invalid } from "./errors.js";

export type DataType = "Binary" | "JSON";

export interface TypedData {
  data: Buffer;
  dataType: DataType;
}

export interface AttestRequest {
  /** The SGX quote (for OpenEnclave reports: the quote after the 16-byte OE header). */
  quote: Buffer;
  runtimeData?: TypedData;
  initTimeData?: TypedData;
  draftPolicyForAttestation?: string;
  nonce?: string;
}

const B64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const MAX_NONCE = 1024;
/** OpenEnclave's report header before the SGX quote. */
const OE_HEADER_BYTES = 16;

function bytes(v: unknown, field: string, required: boolean): Buffer | undefined {
  if (v === undefined || v === null) {
    if (required) invalid("malformed-request", `${field} is required`);
    return undefined;
  }
  if (typeof v !== "string") return invalid("malformed-request", `${field} must be a base64url string`);
  if (!B64.test(v) || v.length % 4 === 1) return invalid("malformed-request", `${field} is not base64url`);
  return Buffer.from(v, "base64");
}

function typedData(v: unknown, field: string): TypedData | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) return invalid("malformed-request", `${field} must be an object {data, dataType}`);
  const o = v as Record<string, unknown>;
  const data = bytes(o.data, `${field}.data`, true)!;
  const dataType = o.dataType ?? "Binary";
  if (dataType !== "Binary" && dataType !== "JSON") return invalid("malformed-request", `${field}.dataType must be "Binary" or "JSON"`);
  return { data, dataType };
}

export function decodeAttestRequest(body: unknown, kind: "SgxEnclave" | "OpenEnclave"): AttestRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return invalid("malformed-request", "the request body must be a JSON object");
  const o = body as Record<string, unknown>;
  const field = kind === "SgxEnclave" ? "quote" : "report";
  let quote = bytes(o[field], field, true)!;
  if (kind === "OpenEnclave") {
    if (quote.length <= OE_HEADER_BYTES) invalid("invalid-quote", `report is ${quote.length} bytes: shorter than an OpenEnclave header`);
    quote = quote.subarray(OE_HEADER_BYTES);
  }
  const draft = o.draftPolicyForAttestation;
  if (draft !== undefined && draft !== null && typeof draft !== "string") invalid("malformed-request", "draftPolicyForAttestation must be a string (the policy text)");
  const nonce = o.nonce;
  if (nonce !== undefined && nonce !== null && (typeof nonce !== "string" || nonce.length > MAX_NONCE)) invalid("malformed-request", `nonce must be a string of at most ${MAX_NONCE} characters`);
  return {
    quote,
    runtimeData: typedData(o.runtimeData, "runtimeData"),
    initTimeData: typedData(o.initTimeData, "initTimeData"),
    draftPolicyForAttestation: (draft as string | undefined) ?? undefined,
    nonce: (nonce as string | undefined) ?? undefined,
  };
}

/** JSON runtime/init-time data: UTF-8 JSON whose value becomes x-ms-runtime / x-ms-inittime. */
export function jsonOf(d: TypedData, field: string): unknown {
  try {
    return JSON.parse(d.data.toString("utf8"));
  } catch (e) {
    return invalid("malformed-request", `${field}.data is dataType JSON but not JSON: ${(e as Error).message}`);
  }
}
