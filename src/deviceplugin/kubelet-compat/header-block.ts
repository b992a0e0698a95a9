// One connection's request header blocks (RFC 9113 §6.2, §6.10; HPACK RFC 7541 through hpack.js): gathers
// HEADERS + CONTINUATION into a block, decodes it against the client's dynamic table, and re-encodes it
// with no dynamic-table insertions, so the server's decoder state never depends on what was dropped.
import hpack, { type HpackHeader } from "hpack.js";
import { encodeFrame, FrameError, FrameFlag, FrameType, DEFAULT_MAX_FRAME_SIZE, type Frame } from "./frames.js";

/** SETTINGS_HEADER_TABLE_SIZE's initial value, which grpc-js servers keep. */
const HEADER_TABLE_SIZE = 4096;
/** Far above any gRPC request's headers (Node's own default limit on a header list is 64 KiB). */
export const MAX_HEADER_BLOCK = 65_536;

export interface HeaderBlock {
  streamId: number;
  /** END_STREAM of the HEADERS frame. */
  endStream: boolean;
  /** The 5-byte priority fields, when the HEADERS frame carried them. */
  priority: Buffer | null;
  headers: HpackHeader[];
  /** The frames as received, for forwarding unchanged. */
  rawFrames: Buffer[];
}

export class HeaderBlockReader {
  private readonly decoder = hpack.decompressor.create({ table: { size: HEADER_TABLE_SIZE } });
  private open: { streamId: number; endStream: boolean; priority: Buffer | null; fragments: Buffer[]; size: number; raw: Buffer[] } | null = null;

  /** True between a HEADERS frame without END_HEADERS and the CONTINUATION that ends it. */
  get inBlock(): boolean {
    return this.open !== null;
  }

  /** Takes a HEADERS or CONTINUATION frame; returns the decoded block once END_HEADERS arrives. */
  take(frame: Frame): HeaderBlock | null {
    if (frame.type === FrameType.HEADERS) {
      if (this.open) throw new FrameError("HEADERS inside an open header block");
      const { fragment, priority } = headersFragment(frame);
      this.open = { streamId: frame.streamId, endStream: (frame.flags & FrameFlag.END_STREAM) !== 0, priority, fragments: [], size: 0, raw: [] };
      this.add(fragment, frame.raw);
    } else {
      if (!this.open || frame.streamId !== this.open.streamId) throw new FrameError("CONTINUATION outside its header block");
      this.add(frame.payload, frame.raw);
    }
    if ((frame.flags & FrameFlag.END_HEADERS) === 0) return null;
    const open = this.open!;
    this.open = null;
    return { streamId: open.streamId, endStream: open.endStream, priority: open.priority, headers: this.decode(Buffer.concat(open.fragments)), rawFrames: open.raw };
  }

  private add(fragment: Buffer, raw: Buffer): void {
    const open = this.open!;
    open.size += fragment.length;
    if (open.size > MAX_HEADER_BLOCK) throw new FrameError(`header block exceeds ${MAX_HEADER_BLOCK} bytes`);
    open.fragments.push(fragment);
    open.raw.push(raw);
  }

  private decode(block: Buffer): HpackHeader[] {
    // Without a callback, execute() reports a decoding error synchronously, as an 'error' event.
    let failure: Error | null = null;
    const onError = (err: Error) => (failure = err);
    this.decoder.on("error", onError);
    this.decoder.write(block);
    this.decoder.execute();
    this.decoder.off("error", onError);
    const headers: HpackHeader[] = [];
    for (let h = this.decoder.read(); h !== null; h = this.decoder.read()) headers.push(h);
    // The dynamic table is now unknown: the connection cannot go on (COMPRESSION_ERROR, RFC 9113 §4.3).
    if (failure) throw new FrameError(`HPACK: ${(failure as Error).message}`);
    return headers;
  }
}

function headersFragment(frame: Frame): { fragment: Buffer; priority: Buffer | null } {
  let p = frame.payload;
  let padding = 0;
  if (frame.flags & FrameFlag.PADDED) {
    if (p.length < 1) throw new FrameError("PADDED HEADERS frame without a pad length");
    padding = p[0]!;
    p = p.subarray(1);
  }
  let priority: Buffer | null = null;
  if (frame.flags & FrameFlag.PRIORITY) {
    if (p.length < 5) throw new FrameError("HEADERS frame too short for its priority fields");
    priority = Buffer.from(p.subarray(0, 5));
    p = p.subarray(5);
  }
  if (padding > p.length) throw new FrameError("HEADERS padding longer than the frame");
  return { fragment: p.subarray(0, p.length - padding), priority };
}

/** Encodes headers as a fresh block (static-table or literal, never indexed into the dynamic table). */
export function encodeHeaderBlock(block: HeaderBlock, headers: HpackHeader[]): Buffer[] {
  const compressor = hpack.compressor.create({ table: { size: HEADER_TABLE_SIZE } });
  compressor.write(headers.map((h) => ({ name: h.name, value: h.value, incremental: false, huffman: false, neverIndex: h.neverIndex ? true : undefined })));
  const parts: Buffer[] = [];
  for (let b = compressor.read(); b !== null; b = compressor.read()) parts.push(b);
  let rest = Buffer.concat(block.priority ? [block.priority, ...parts] : parts);
  const frames: Buffer[] = [];
  let type: number = FrameType.HEADERS;
  do {
    const chunk = rest.subarray(0, DEFAULT_MAX_FRAME_SIZE);
    rest = rest.subarray(chunk.length);
    let flags = rest.length === 0 ? FrameFlag.END_HEADERS : 0;
    if (type === FrameType.HEADERS) flags |= (block.endStream ? FrameFlag.END_STREAM : 0) | (block.priority ? FrameFlag.PRIORITY : 0);
    frames.push(encodeFrame(type, flags, block.streamId, chunk));
    type = FrameType.CONTINUATION;
  } while (rest.length > 0);
  return frames;
}
