// HTTP/2 framing (RFC 9113 §4.1), as much as the authority front needs: split the client's byte stream
// into whole frames, with the preface checked and every length bounded before anything is buffered.

export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME_HEADER_SIZE = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value; grpc-js servers keep it, so no conforming client sends more. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

export const FrameType = { DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, CONTINUATION: 0x9 } as const;
export const FrameFlag = { END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  /** The frame's payload (a view into `raw`). */
  payload: Buffer;
  /** The whole frame as received: header and payload. */
  raw: Buffer;
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** Incremental frame splitter for the client-to-server direction of one connection. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;

  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Bytes buffered that do not yet make a whole frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Hands back the bytes held that do not yet make a whole frame, and forgets them. */
  drain(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }

  /** Feeds received bytes; returns the preface (once) and every frame completed by them, in order. */
  push(chunk: Buffer): Array<Frame | Buffer> {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Array<Frame | Buffer> = [];
    if (!this.prefaceSeen) {
      const n = Math.min(this.pending.length, CLIENT_PREFACE.length);
      if (!this.pending.subarray(0, n).equals(CLIENT_PREFACE.subarray(0, n))) throw new FrameError("not an HTTP/2 client preface");
      if (this.pending.length < CLIENT_PREFACE.length) return out;
      out.push(this.pending.subarray(0, CLIENT_PREFACE.length));
      this.pending = this.pending.subarray(CLIENT_PREFACE.length);
      this.prefaceSeen = true;
    }
    let at = 0;
    while (this.pending.length - at >= FRAME_HEADER_SIZE) {
      const length = this.pending.readUIntBE(at, 3);
      if (length > this.maxFrameSize) throw new FrameError(`frame of ${length} bytes exceeds the ${this.maxFrameSize}-byte maximum`);
      const end = at + FRAME_HEADER_SIZE + length;
      if (this.pending.length < end) break;
      const raw = this.pending.subarray(at, end);
      out.push({
        type: raw[3]!,
        flags: raw[4]!,
        streamId: raw.readUInt32BE(5) & 0x7fffffff,
        payload: raw.subarray(FRAME_HEADER_SIZE),
        raw,
      });
      at = end;
    }
    this.pending = this.pending.subarray(at);
    return out;
  }
}

/** Encodes one frame header plus payload. */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frame.writeUIntBE(payload.length, 0, 3);
  frame[3] = type;
  frame[4] = flags;
  frame.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(frame, FRAME_HEADER_SIZE);
  return frame;
}
