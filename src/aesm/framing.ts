// AESM socket framing: a little-endian u32 length, then that many bytes of one serialized protobuf.
// Intel's transport has no maximum; ours refuses an oversized length before allocating anything, so a
// hostile 4 GiB prefix costs nothing. Shared by the client and the quote helper.
import type { Socket } from "node:net";

export const FRAME_HEADER_SIZE = 4;
/** Largest request the quote helper accepts: the biggest real request (GetQuoteEx) is under 2 KiB. */
export const DEFAULT_MAX_REQUEST_FRAME = 64 * 1024;

export type FrameErrorReason = "too-large" | "truncated" | "timeout";

export class FrameError extends Error {
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

/**
 * A whole frame as it goes on the wire: `head` (the length prefix, then the message's first bytes), then
 * `zeros` zero bytes, then `tail`. aesmd answers GetQuoteEx with a zero-filled buffer of the caller's
 * buf_size; sending the zeros from one shared chunk keeps a 1 MiB request from costing 1 MiB of memory
 * per client.
 */
export interface WireFrame {
  head: Uint8Array;
  zeros: number;
  tail: Uint8Array;
}

/** A frame part with nothing in it (a WireFrame's tail, mostly). */
export const EMPTY_BYTES = new Uint8Array(0);

/** `payload` framed, in one buffer. */
export function wireFrame(payload: Uint8Array): WireFrame {
  return { head: encodeFrame(payload), zeros: 0, tail: EMPTY_BYTES };
}

/** Bytes of the whole frame, length prefix included. */
export function wireFrameSize(f: WireFrame): number {
  return f.head.length + f.zeros + f.tail.length;
}

export function frameHeader(size: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  header.writeUInt32LE(size, 0);
  return header;
}

export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * Accumulates chunks until one whole frame has arrived. Memory grows with the bytes received, never with
 * the length a client announces (up to `maxSize`); a frame that arrives in one chunk is not copied.
 */
export class FrameDecoder {
  private header = Buffer.alloc(FRAME_HEADER_SIZE);
  private headerFill = 0;
  private size = -1;
  private parts: Buffer[] = [];
  private payloadFill = 0;

  constructor(private readonly maxSize: number) {}

  /** Feeds a chunk; returns the payload once complete (later bytes are ignored), else undefined. */
  push(chunk: Buffer): Buffer | undefined {
    let offset = 0;
    if (this.size < 0) {
      const n = Math.min(FRAME_HEADER_SIZE - this.headerFill, chunk.length);
      chunk.copy(this.header, this.headerFill, 0, n);
      this.headerFill += n;
      offset = n;
      if (this.headerFill < FRAME_HEADER_SIZE) return undefined;
      const size = this.header.readUInt32LE(0);
      if (size > this.maxSize) throw new FrameError("too-large", `frame of ${size} bytes exceeds the limit of ${this.maxSize}`);
      this.size = size;
    }
    const n = Math.min(this.size - this.payloadFill, chunk.length - offset);
    if (n > 0) this.parts.push(chunk.subarray(offset, offset + n));
    this.payloadFill += n;
    if (this.payloadFill < this.size) return undefined;
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
  }

  /** Bytes received so far, for logs. */
  get received(): number {
    return this.headerFill + this.payloadFill;
  }
}

export interface ReadFrameOptions {
  maxSize: number;
  /** Deadline for the whole frame, from the call; 0 = none. */
  timeoutMs: number;
}

/** Reads exactly one frame from a socket; rejects with a FrameError or the socket's own error. */
export function readFrame(socket: Socket, opts: ReadFrameOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const decoder = new FrameDecoder(opts.maxSize);
    const timer =
      opts.timeoutMs > 0
        ? setTimeout(() => finish(new FrameError("timeout", `no complete frame within ${opts.timeoutMs} ms (${decoder.received} bytes received)`)), opts.timeoutMs)
        : undefined;
    const onData = (chunk: Buffer) => {
      let frame: Buffer | undefined;
      try {
        frame = decoder.push(chunk);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (frame) finish(undefined, frame);
    };
    const onEnd = () => finish(new FrameError("truncated", `connection closed after ${decoder.received} bytes of a frame`));
    const onError = (err: Error) => finish(err);
    function finish(err: Error | undefined, frame?: Buffer) {
      clearTimeout(timer);
      socket.off("data", onData).off("end", onEnd).off("close", onEnd).off("error", onError);
      socket.pause();
      if (err) reject(err);
      else resolve(frame!);
    }
    socket.on("data", onData).on("end", onEnd).on("close", onEnd).on("error", onError);
    socket.resume();
  });
}
