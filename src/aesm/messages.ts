// Typed AESM requests and responses, and their protobuf codec. Bytes are decoded once, here, into a
// union keyed by request kind; an absent field stays `undefined` (proto2 presence matters: Intel's
// client sets buf_size only when non-zero). Used by both the quote helper and QuoteExClient.
import { create, fromBinary, isFieldSet, toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { RequestSchema, ResponseSchema, type Request, type Response } from "../gen/aesm/messages_pb.js";
import { ALL_KINDS, REQUEST_KINDS, type LegacyKind, type RequestKind } from "./kinds.js";

/** proto2 `required` in protobuf-es descriptors (FeatureSet.FieldPresence.LEGACY_REQUIRED). */
const LEGACY_REQUIRED = 3;

export interface InitQuoteExRequest {
  kind: "initQuoteEx";
  attKeyId?: Buffer;
  bPubKeyId: boolean;
  bufSize?: bigint;
  timeout?: number;
}
export interface GetQuoteSizeExRequest {
  kind: "getQuoteSizeEx";
  attKeyId?: Buffer;
  timeout?: number;
}
export interface GetQuoteExRequest {
  kind: "getQuoteEx";
  report: Buffer;
  attKeyId?: Buffer;
  qeReportInfo?: Buffer;
  bufSize: number;
  timeout?: number;
}
export interface SelectAttKeyIdRequest {
  kind: "selectAttKeyId";
  attKeyIdList?: Buffer;
  timeout?: number;
}
export interface GetSupportedAttKeyIdNumRequest {
  kind: "getSupportedAttKeyIdNum";
  timeout?: number;
}
export interface GetSupportedAttKeyIdsRequest {
  kind: "getSupportedAttKeyIds";
  bufSize: number;
  timeout?: number;
}
/** A legacy request: its fields are never used, only its kind (to answer with the matching number). */
export type LegacyRequest = { [K in LegacyKind]: { kind: K } }[LegacyKind];

export type AesmRequest =
  | InitQuoteExRequest
  | GetQuoteSizeExRequest
  | GetQuoteExRequest
  | SelectAttKeyIdRequest
  | GetSupportedAttKeyIdNumRequest
  | GetSupportedAttKeyIdsRequest
  | LegacyRequest;

export interface InitQuoteExResponse {
  kind: "initQuoteEx";
  errorCode: number;
  targetInfo?: Buffer;
  pubKeyIdSize?: bigint;
  pubKeyId?: Buffer;
}
export interface GetQuoteSizeExResponse {
  kind: "getQuoteSizeEx";
  errorCode: number;
  quoteSize?: number;
}
export interface GetQuoteExResponse {
  kind: "getQuoteEx";
  errorCode: number;
  quote?: Buffer;
  qeReportInfo?: Buffer;
}
export interface SelectAttKeyIdResponse {
  kind: "selectAttKeyId";
  errorCode: number;
  selectedAttKeyId?: Buffer;
}
export interface GetSupportedAttKeyIdNumResponse {
  kind: "getSupportedAttKeyIdNum";
  errorCode: number;
  attKeyIdNum?: number;
}
export interface GetSupportedAttKeyIdsResponse {
  kind: "getSupportedAttKeyIds";
  errorCode: number;
  attKeyIds?: Buffer;
}
export type LegacyResponse = { [K in LegacyKind]: { kind: K; errorCode: number } }[LegacyKind];

export type AesmResponse =
  | InitQuoteExResponse
  | GetQuoteSizeExResponse
  | GetQuoteExResponse
  | SelectAttKeyIdResponse
  | GetSupportedAttKeyIdNumResponse
  | GetSupportedAttKeyIdsResponse
  | LegacyResponse;

export type RequestOf<K extends RequestKind> = Extract<AesmRequest, { kind: K }>;
export type ResponseOf<K extends RequestKind> = Extract<AesmResponse, { kind: K }>;

/** Bytes that are not a well-formed AESM message; aesmd closes the connection on these. */
export class AesmDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AesmDecodeError";
  }
}

export function decodeRequest(bytes: Uint8Array): AesmRequest {
  const msg = parse(RequestSchema, bytes, "Request");
  const kind = onlyKind(ALL_KINDS.filter((k) => msg[REQUEST_KINDS[k].req as keyof Request] !== undefined), "request");
  const field = REQUEST_KINDS[kind].req;
  const sub = msg[field as keyof Request] as Message;
  return { kind, ...presentFields(RequestSchema.field[field].message!, sub, field) } as AesmRequest;
}

export function encodeRequest(req: AesmRequest): Uint8Array {
  const { kind, ...fields } = req;
  return toBinary(RequestSchema, create(RequestSchema, { [REQUEST_KINDS[kind].req]: fields }));
}

/** Encodes a response under the request's own field number; errorCode is always set, so always sent. */
export function encodeResponse(res: AesmResponse): Uint8Array {
  const { kind, ...fields } = res;
  return toBinary(ResponseSchema, create(ResponseSchema, { [REQUEST_KINDS[kind].res]: fields }));
}

/** Decodes the response to a `kind` request; one without that sub-message or its errorCode is an error. */
export function decodeResponse<K extends RequestKind>(bytes: Uint8Array, kind: K): ResponseOf<K> {
  const msg = parse(ResponseSchema, bytes, "Response");
  const field = REQUEST_KINDS[kind].res;
  const sub = msg[field as keyof Response] as Message | undefined;
  if (sub === undefined) throw new AesmDecodeError(`response has no ${field} sub-message (field ${REQUEST_KINDS[kind].no})`);
  return { kind, ...presentFields(ResponseSchema.field[field].message!, sub, field) } as ResponseOf<K>;
}

function parse<D extends DescMessage>(schema: D, bytes: Uint8Array, what: string) {
  try {
    return fromBinary(schema, bytes);
  } catch (err) {
    throw new AesmDecodeError(`not a protobuf ${what}: ${(err as Error).message}`);
  }
}

function onlyKind(present: RequestKind[], what: string): RequestKind {
  if (present.length === 0) throw new AesmDecodeError(`${what} has no known sub-message`);
  if (present.length > 1) throw new AesmDecodeError(`${what} has ${present.length} sub-messages (${present.join(", ")}); exactly one is allowed`);
  return present[0];
}

/** The fields set on the wire, bytes as Buffers; a missing proto2 `required` field is an error, as in protobuf-lite. */
function presentFields(desc: DescMessage, msg: Message, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of desc.fields) {
    if (!isFieldSet(msg, f)) {
      if (f.presence === LEGACY_REQUIRED) throw new AesmDecodeError(`${where}.${f.name} is required but absent`);
      continue;
    }
    const value = (msg as unknown as Record<string, unknown>)[f.localName];
    out[f.localName] = value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
  }
  return out;
}
