// Sends one response frame on a socket with backpressure: the zero padding of a GetQuoteEx buffer is
// written chunk by chunk from one shared zero buffer, only as fast as the client reads, so a slow reader
// of a 1 MiB answer holds a few KiB here. Knows how much of its frame is still unsent, and how fast
// its client drains it, so the transport can shed the slowest readers.
import type { Socket } from "node:net";
import { wireFrameSize, type WireFrame } from "../aesm/framing.js";

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

export class ResponseWriter {
  readonly startedAt = Date.now();
  private readonly total: number;
  /** Bytes handed to socket.write so far (some may still wait in its userland buffer). */
  private queued = 0;
  private zerosLeft: number;

  constructor(
    private readonly socket: Socket,
    private readonly frame: WireFrame,
  ) {
    this.total = wireFrameSize(frame);
    this.zerosLeft = frame.zeros;
  }

  /** Writes the frame and ends the socket once it is all queued. */
  start(): void {
    const s = this.socket;
    // The head holds the length prefix and everything up to any padding: one write, one syscall.
    const first = this.frame.head;
    this.queued = first.length;
    if (this.zerosLeft === 0 && this.frame.tail.length === 0) return void s.end(first);
    s.cork();
    s.write(first);
    this.pump();
    s.uncork();
  }

  /** Bytes of the frame the kernel has not taken yet. */
  unsent(): number {
    return this.total - this.queued + this.socket.writableLength;
  }

  /** Bytes per millisecond the client has taken so far. */
  drainRate(now: number): number {
    return (this.total - this.unsent()) / Math.max(1, now - this.startedAt);
  }

  private readonly pump = (): void => {
    const s = this.socket;
    while (this.zerosLeft > 0) {
      if (s.destroyed) return;
      const n = Math.min(this.zerosLeft, ZERO_CHUNK.length);
      this.zerosLeft -= n;
      this.queued += n;
      if (!s.write(ZERO_CHUNK.subarray(0, n))) {
        s.once("drain", this.pump);
        return;
      }
    }
    this.queued += this.frame.tail.length;
    if (this.frame.tail.length > 0) s.end(this.frame.tail);
    else s.end();
  };
}
