// One client connection seen through the authority front: a Duplex that the gRPC server's HTTP/2 session
// reads and writes. Server-to-client bytes pass through untouched. Client-to-server bytes are split into
// frames until the first request's header block shows which kind of client this is: one with an
// acceptable :authority (every kubelet since 1.26) gets the rest of its bytes passed through unparsed;
// one that sends the socket path (older kubelets) has every header block re-encoded with `localhost`.
import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { acceptableAuthority, authorityOf, REPLACEMENT_AUTHORITY } from "./authority.js";
import { FrameError, FrameReader, FrameType } from "./frames.js";
import { encodeHeaderBlock, HeaderBlockReader, type HeaderBlock } from "./header-block.js";

export type FrontMode = "sniffing" | "passthrough" | "rewriting";

export interface ConnectionEvents {
  /** The connection's mode was decided; `authority` is the client's original value. */
  onMode(mode: "passthrough" | "rewriting", authority: string | undefined): void;
  /** The client sent bytes that are not HTTP/2 as the front reads it; the connection is closed. */
  onProtocolError(err: FrameError): void;
}

export class FrontConnection extends Duplex {
  private mode: FrontMode = "sniffing";
  private readonly frames = new FrameReader();
  private readonly blocks = new HeaderBlockReader();

  constructor(
    private readonly socket: Socket,
    private readonly events: ConnectionEvents,
  ) {
    super({ allowHalfOpen: false });
    socket.on("data", (chunk: Buffer) => this.fromClient(chunk));
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) done();
    else this.socket.once("drain", () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }

  private fromClient(chunk: Buffer): void {
    if (this.mode === "passthrough") return this.forward(chunk);
    let out: Buffer[];
    try {
      out = this.translate(chunk);
    } catch (err) {
      // Whatever a client sends ends at most its own connection, never the plugin.
      this.events.onProtocolError(err instanceof FrameError ? err : new FrameError(String(err)));
      this.destroy();
      return;
    }
    if (out.length > 0) this.forward(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  private forward(bytes: Buffer): void {
    if (!this.push(bytes)) this.socket.pause();
  }

  private translate(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const items = this.frames.push(chunk);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (Buffer.isBuffer(item)) {
        out.push(item);
        continue;
      }
      if (item.type !== FrameType.HEADERS && item.type !== FrameType.CONTINUATION) {
        if (this.blocks.inBlock) throw new FrameError("a frame interrupted a header block");
        out.push(item.raw);
        continue;
      }
      const block = this.blocks.take(item);
      if (!block) continue;
      if (this.mode === "rewriting") {
        out.push(...rewrite(block));
        continue;
      }
      const authority = authorityOf(block.headers);
      if (authority === undefined || acceptableAuthority(authority)) {
        // Everything so far went through unchanged, so the server's HPACK state matches the client's.
        this.mode = "passthrough";
        out.push(...block.rawFrames);
        for (const rest of items.slice(i + 1)) out.push(Buffer.isBuffer(rest) ? rest : rest.raw);
        out.push(this.frames.drain());
        this.events.onMode("passthrough", authority);
        return out;
      }
      this.mode = "rewriting";
      this.events.onMode("rewriting", authority);
      out.push(...rewrite(block));
    }
    return out;
  }
}

function rewrite(block: HeaderBlock): Buffer[] {
  const headers = block.headers.map((h) =>
    h.name === ":authority" && !acceptableAuthority(h.value) ? { ...h, value: REPLACEMENT_AUTHORITY } : h,
  );
  return encodeHeaderBlock(block, headers);
}
