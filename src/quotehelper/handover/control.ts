// The handover control socket beside the AESM socket (`<socket>.control`, mode 0600): one JSON line
// in, one JSON line out, then close. A starting helper asks `hello` to learn whether the live server on
// its path is a confcom quote helper it can take over, and after renaming its own socket over the path
// sends `handover` so the old one stops accepting. Hand-written on node:net: two tiny messages, no
// library in our list speaks line-delimited JSON over a unix socket.
import net from "node:net";
import type { Logger } from "../../common/log.js";
import { listen } from "../../common/listen.js";

export const CONTROL_PRODUCT = "confcom-quote-helper";
/** Bumped when the handover messages change incompatibly; a helper takes over only the versions it lists. */
export const CONTROL_PROTOCOL = 1;
export const COMPATIBLE_PROTOCOLS: readonly number[] = [1];

const MAX_LINE = 4096;
const CONTROL_TIMEOUT_MS = 2000;
const MAX_CONTROL_CONNECTIONS = 16;

export const controlPathFor = (socketPath: string) => `${socketPath}.control`;

/** A file identity as JSON carries it (inode numbers can exceed 2^53). */
export interface WireIdentity {
  dev: string;
  ino: string;
}

export interface HelloReply {
  product: string;
  protocol: number;
  version: string;
  pid: number;
  backend: string;
  /** The AESM socket this helper serves (what a successor checks against lstat of the path). */
  socket: WireIdentity;
}

export interface HandoverRequest {
  op: "handover";
  pid: number;
  version: string;
  /** The successor's socket, now at the path. */
  socket: WireIdentity;
}

export type ControlRequest = { op: "hello" } | HandoverRequest;
export type HandoverReply = { ok: true; pid: number } | { ok: false; error: string };

export interface ControlHandlers {
  hello(): HelloReply;
  handover(req: HandoverRequest): Promise<HandoverReply>;
}

export class ControlProtocolError extends Error {
  override name = "ControlProtocolError";
}

/** Decodes a request line at the edge; anything else is a ControlProtocolError with a short reason. */
export function decodeControlRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ControlProtocolError("not JSON");
  }
  const o = v as Record<string, unknown>;
  if (typeof v !== "object" || v === null) throw new ControlProtocolError("not an object");
  if (o.op === "hello") return { op: "hello" };
  if (o.op !== "handover") throw new ControlProtocolError("unknown op");
  const s = o.socket as Record<string, unknown> | undefined;
  const digits = (x: unknown): x is string => typeof x === "string" && /^\d{1,20}$/.test(x);
  if (!Number.isSafeInteger(o.pid) || typeof o.version !== "string" || o.version.length > 64 || !s || !digits(s.dev) || !digits(s.ino))
    throw new ControlProtocolError("malformed handover request");
  return { op: "handover", pid: o.pid as number, version: o.version, socket: { dev: s.dev, ino: s.ino } };
}

function decodeHello(v: unknown): HelloReply | undefined {
  const o = v as Partial<HelloReply> | null;
  if (typeof o !== "object" || o === null || o.product !== CONTROL_PRODUCT || !Number.isSafeInteger(o.protocol) || !Number.isSafeInteger(o.pid)) return undefined;
  if (typeof o.version !== "string" || typeof o.backend !== "string" || typeof o.socket?.dev !== "string" || typeof o.socket?.ino !== "string") return undefined;
  return o as HelloReply;
}

export interface ControlServer {
  close(): Promise<void>;
}

/** Serves the control protocol on `bindPath`: bounded line, deadline, connection cap (oldest evicted). */
export async function startControlServer(bindPath: string, handlers: ControlHandlers, log: Logger): Promise<ControlServer> {
  const open: net.Socket[] = [];
  const server = net.createServer((socket) => {
    open.push(socket);
    // Anyone who can reach the directory may connect: a flood must not lock a successor out.
    if (open.length > MAX_CONTROL_CONNECTIONS) open.shift()!.destroy();
    socket.once("close", () => {
      const i = open.indexOf(socket);
      if (i >= 0) open.splice(i, 1);
    });
    socket.on("error", () => undefined);
    socket.setTimeout(CONTROL_TIMEOUT_MS, () => socket.destroy());
    void readLine(socket).then(async (line) => {
      if (line === undefined) return void socket.destroy();
      let reply: unknown;
      try {
        const req = decodeControlRequest(line);
        reply = req.op === "hello" ? handlers.hello() : await handlers.handover(req);
      } catch (err) {
        reply = { ok: false, error: err instanceof ControlProtocolError ? err.message : "internal error" };
        if (!(err instanceof ControlProtocolError)) log.error({ err }, "control request failed");
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await listen(server, { path: bindPath });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The first line (without its newline), or undefined on EOF, error, timeout or a line over the bound. */
function readLine(socket: net.Socket, timeoutMs = CONTROL_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = "";
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      socket.off("data", onData);
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) done(buf.slice(0, nl));
      else if (buf.length > MAX_LINE) done(undefined);
    };
    socket.on("data", onData);
    socket.once("end", () => done(undefined));
    socket.once("close", () => done(undefined));
  });
}

/** One request, one reply; undefined when nothing (or nothing parseable) answers on `controlPath`. */
export function controlCall(controlPath: string, req: ControlRequest, timeoutMs = CONTROL_TIMEOUT_MS): Promise<unknown> {
  return new Promise((resolve) => {
    const socket = net.connect(controlPath);
    socket.on("error", () => resolve(undefined));
    socket.once("connect", () => {
      socket.write(`${JSON.stringify(req)}\n`);
      void readLine(socket, timeoutMs).then((line) => {
        socket.destroy();
        try {
          resolve(line === undefined ? undefined : JSON.parse(line));
        } catch {
          resolve(undefined);
        }
      });
    });
  });
}

/** Asks `hello`, retrying briefly (a flood may evict us); undefined when no confcom helper answers. */
export async function helloControl(controlPath: string, attempts = 3): Promise<HelloReply | undefined> {
  for (let i = 0; i < attempts; i++) {
    const reply = decodeHello(await controlCall(controlPath, { op: "hello" }));
    if (reply) return reply;
  }
  return undefined;
}

export function decodeHandoverReply(v: unknown): HandoverReply {
  const o = v as Record<string, unknown> | undefined;
  if (o?.ok === true && Number.isSafeInteger(o.pid)) return { ok: true, pid: o.pid as number };
  return { ok: false, error: typeof o?.error === "string" ? o.error.slice(0, 200) : "no answer" };
}

/**
 * Connects now and sends one request later: a successor connects to its predecessor's control socket
 * before renaming its own over that path, then sends `handover` on this connection.
 */
export function openControl(controlPath: string): Promise<{ send(req: ControlRequest): Promise<unknown> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(controlPath);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => undefined);
      resolve({
        send: (req) => {
          socket.write(`${JSON.stringify(req)}\n`);
          return readLine(socket).then((line) => {
            socket.destroy();
            try {
              return line === undefined ? undefined : (JSON.parse(line) as unknown);
            } catch {
              return undefined;
            }
          });
        },
      });
    });
  });
}
