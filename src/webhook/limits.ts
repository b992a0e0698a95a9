// What one client can make the webhook hold: a bounded number of connections (the oldest one without a
// request in progress makes room for a new one, so a flood of stalled handshakes cannot lock the API
// server out), and a bounded number of buffered body bytes across all requests.
import type net from "node:net";

export interface ConnectionLimits {
  /** Concurrent TCP connections, TLS handshakes included. */
  maxConnections: number;
  /** Body bytes every request may buffer without waiting: an ordinary AdmissionReview never waits. */
  freeBodyBytes: number;
  /** Body bytes beyond each request's free allowance, buffered across all requests together. */
  sharedBodyBytes: number;
  /** A connection must finish its TLS handshake within this, its request headers within the next. */
  handshakeTimeoutMs: number;
  headersTimeoutMs: number;
  /** The whole request, body included. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  maxConnections: 256,
  freeBodyBytes: 64 << 10,
  sharedBodyBytes: 24 << 20,
  handshakeTimeoutMs: 5_000,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
};

interface Tracked {
  socket: net.Socket;
  busy: number;
}

/** The server's connections in arrival order, keyed by the peer's address and port. */
export class ConnectionTable {
  private readonly byPeer = new Map<string, Tracked>();

  constructor(
    private readonly max: number,
    private readonly onShed: (reason: "evicted_idle" | "refused_busy") => void,
  ) {}

  get size(): number {
    return this.byPeer.size;
  }

  /** Call on the server's raw 'connection' event, before TLS. */
  admit(socket: net.Socket): void {
    const key = peerKey(socket);
    if (this.byPeer.size >= this.max) {
      const idle = [...this.byPeer.values()].find((t) => t.busy === 0);
      if (!idle) {
        this.onShed("refused_busy");
        socket.destroy();
        return;
      }
      this.onShed("evicted_idle");
      this.forget(idle.socket);
      idle.socket.destroy();
    }
    this.byPeer.set(key, { socket, busy: 0 });
    socket.once("close", () => this.forget(socket));
  }

  /** Marks the connection of `socket` (its TLS socket will do) busy until the returned function runs. */
  busy(socket: net.Socket): () => void {
    const t = this.byPeer.get(peerKey(socket));
    if (!t) return () => {};
    t.busy++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      t.busy--;
    };
  }

  private forget(socket: net.Socket): void {
    const key = peerKey(socket);
    if (this.byPeer.get(key)?.socket === socket) this.byPeer.delete(key);
  }
}

const peerKey = (s: net.Socket) => `${s.remoteAddress}|${s.remotePort}`;

/**
 * The shared pool of body bytes. A request that needs more than its free allowance and finds the pool
 * empty waits (its socket paused, so the bytes stay in the kernel) until others release theirs.
 */
export class BodyBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** Resolves once `bytes` are reserved; callers must release them exactly once. */
  reserve(bytes: number): Promise<void> | undefined {
    if (this.waiting.length === 0 && this.used + bytes <= this.capacity) {
      this.used += bytes;
      return undefined;
    }
    return new Promise((grant) => this.waiting.push({ bytes, grant }));
  }

  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.capacity) {
      const w = this.waiting.shift()!;
      this.used += w.bytes;
      w.grant();
    }
  }

  get inUse(): number {
    return this.used;
  }
}
