// Typed AESM requests and responses, and their protobuf codec. Bytes are decoded once, here, into a
// union keyed by request kind; an absent field stays `undefined` (proto2 presence matters: Intel's
// client sets buf_size only when non-zero). Used by both the quote helper and QuoteExClient.
import { create, fromBinary, isFieldSet, toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { RequestSchema, ResponseSchema, type Request, type Response } from "../gen/aesm/messages_pb.js";
import { EMPTY_BYTES, FRAME_HEADER_SIZE, wireFrame, type WireFrame } from "./framing.js";
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
  /**
   * Sending only: the quote goes on the wire zero-padded to this many bytes, as aesmd sends the caller's
   * whole buf_size buffer; the zeros are never allocated (see WireFrame). Decoding never sets it.
   */
  quoteBufferSize?: number;
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
  const f = encodeResponseFrame(res);
  if (f.zeros === 0 && f.tail.length === 0) return f.head.subarray(FRAME_HEADER_SIZE);
  return Buffer.concat([f.head.subarray(FRAME_HEADER_SIZE), Buffer.alloc(f.zeros), f.tail]);
}

/** encodeResponse framed, as the quote helper sends it: a GetQuoteEx quote's zero padding stays virtual. */
export function encodeResponseFrame(res: AesmResponse): WireFrame {
  if (res.kind === "getQuoteEx") return encodeGetQuoteExResponse(res);
  const { kind, ...fields } = res;
  return wireFrame(toBinary(ResponseSchema, create(ResponseSchema, { [REQUEST_KINDS[kind].res]: fields })));
}

// Written by hand, not with toBinary: the quote is the hot path's only large field, copied once, into
// the frame (length prefix, message head, quote and qe_report_info in one buffer, one socket write);
// its padding stays virtual. Same bytes as protobuf-es writes (fields in number order);
// test/aesm/messages.test.ts compares the two.
const GET_QUOTE_EX_TAG = (REQUEST_KINDS.getQuoteEx.no << 3) | 2;
function encodeGetQuoteExResponse(res: GetQuoteExResponse): WireFrame {
  const { quote, qeReportInfo } = res;
  const quoteLen = quote === undefined ? 0 : Math.max(quote.length, res.quoteBufferSize ?? 0);
  const quoteFieldLen = quote === undefined ? 0 : 1 + varintSize(quoteLen) + quoteLen;
  const qriFieldLen = qeReportInfo === undefined ? 0 : 1 + varintSize(qeReportInfo.length) + qeReportInfo.length;
  const subLen = 1 + varintSize(res.errorCode) + quoteFieldLen + qriFieldLen;
  const messageLen = varintSize(GET_QUOTE_EX_TAG) + varintSize(subLen) + subLen;
  const zeros = quote === undefined ? 0 : quoteLen - quote.length;
  // The qe_report_info field goes in the head unless padding separates it from the quote.
  const headLen = FRAME_HEADER_SIZE + messageLen - zeros - (zeros > 0 ? qriFieldLen : 0);
  const head = Buffer.allocUnsafe(headLen);
  head.writeUInt32LE(messageLen, 0);
  let at = writeVarint(head, FRAME_HEADER_SIZE, GET_QUOTE_EX_TAG);
  at = writeVarint(head, at, subLen);
  head[at++] = 0x08;
  at = writeVarint(head, at, res.errorCode);
  if (quote !== undefined) {
    head[at++] = 0x12;
    at = writeVarint(head, at, quoteLen);
    head.set(quote, at);
    at += quote.length;
  }
  if (qeReportInfo === undefined) return { head, zeros, tail: EMPTY_BYTES };
  if (zeros > 0) return { head, zeros, tail: bytesField(0x1a, qeReportInfo) };
  head[at++] = 0x1a;
  at = writeVarint(head, at, qeReportInfo.length);
  head.set(qeReportInfo, at);
  return { head, zeros, tail: EMPTY_BYTES };
}

function bytesFieldHeader(tag: number, len: number): Buffer {
  const h = Buffer.allocUnsafe(1 + varintSize(len));
  h[0] = tag;
  writeVarint(h, 1, len);
  return h;
}

function bytesField(tag: number, value: Uint8Array): Buffer {
  return Buffer.concat([bytesFieldHeader(tag, value.length), value]);
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
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
