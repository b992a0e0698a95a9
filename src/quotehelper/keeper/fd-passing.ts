// Hand-written libc FFI (koffi): Node has no API to create a listening socket it does not accept on,
// to send or receive a file descriptor (SCM_RIGHTS), or to read a unix peer's credentials (SO_PEERCRED).
// Struct layouts are those of x86_64 Linux glibc; anything else is refused with a clear error.
import koffi from "koffi";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SO_PEERCRED = 17;
const SO_RCVTIMEO = 20;
const SO_ACCEPTCONN = 30;
const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_NOSIGNAL = 0x4000;

// x86_64 glibc: sockaddr_un = u16 family + 108 path; msghdr 56 bytes (name@0 namelen@8 iov@16
// iovlen@24 control@32 controllen@40 flags@48); iovec 16; cmsghdr 16 then data; CMSG_SPACE(4) = 24.
const SUN_PATH = 108;
const SOCKADDR_UN = 2 + SUN_PATH;
const MSGHDR = 56;
const IOVEC = 16;
const CMSG_HDR = 16;
const CMSG_SPACE_FD = 24;
const CMSG_LEN_FD = 20;
/** Largest payload sent beside the fd; a longer one is not a keeper's. */
export const MAX_PAYLOAD = 512;

export class UnsupportedPlatformError extends Error {
  override name = "UnsupportedPlatformError";
}

export function checkPlatform(): void {
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new UnsupportedPlatformError(`the socket keeper passes file descriptors with x86_64 Linux struct layouts; this is ${process.platform}/${process.arch}`);
}

type Fn = (...args: unknown[]) => number | bigint;
let libc: Record<string, Fn> | undefined;
function c(): Record<string, Fn> {
  if (libc) return libc;
  checkPlatform();
  const lib = koffi.load("libc.so.6");
  // Pointers go as native addresses (uint64) into memory from koffi.alloc.
  const f = (sig: string) => lib.func(sig) as unknown as Fn;
  libc = {
    socket: f("int socket(int, int, int)"),
    bind: f("int bind(int, uint64_t, uint32_t)"),
    listen: f("int listen(int, int)"),
    connect: f("int connect(int, uint64_t, uint32_t)"),
    sendmsg: f("int64_t sendmsg(int, uint64_t, int)"),
    recvmsg: f("int64_t recvmsg(int, uint64_t, int)"),
    getsockopt: f("int getsockopt(int, int, int, uint64_t, uint64_t)"),
    setsockopt: f("int setsockopt(int, int, int, uint64_t, uint32_t)"),
    close: f("int close(int)"),
  };
  return libc;
}

export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: errno ${errno}${ERRNO_NAMES[errno] ? ` (${ERRNO_NAMES[errno]})` : ""}`);
  }
  get code(): string | undefined {
    return ERRNO_NAMES[this.errno];
  }
}
const ERRNO_NAMES: Record<number, string> = { 2: "ENOENT", 11: "EAGAIN", 13: "EACCES", 22: "EINVAL", 88: "ENOTSOCK", 98: "EADDRINUSE", 104: "ECONNRESET", 111: "ECONNREFUSED" };

function check(call: string, rc: number | bigint): number {
  const n = Number(rc);
  if (n < 0) throw new SyscallError(call, koffi.errno());
  return n;
}

/** Native scratch memory, freed by `done`. */
function scratch(size: number): { addr: bigint; buf: Buffer; done(): void } {
  const addr = koffi.alloc("uint8_t", size) as unknown as bigint;
  const buf = Buffer.from(koffi.view(addr as never, size) as ArrayBuffer);
  buf.fill(0);
  return { addr, buf, done: () => koffi.free(addr as never) };
}

function withSockaddr<T>(file: string, use: (addr: bigint, len: number) => T): T {
  const bytes = Buffer.from(file);
  if (bytes.length >= SUN_PATH) throw new Error(`socket path too long (${bytes.length} >= ${SUN_PATH} bytes)`);
  const m = scratch(SOCKADDR_UN);
  try {
    m.buf.writeUInt16LE(AF_UNIX, 0);
    bytes.copy(m.buf, 2);
    return use(m.addr, 2 + bytes.length + 1);
  } finally {
    m.done();
  }
}

const unixSocket = () => check("socket", c().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));

export const closeFd = (fd: number): void => void c().close(fd);

/** A unix stream socket bound at `file` and listening; nobody accepts on it until its fd is handed on. */
export function listeningSocket(file: string, backlog: number): number {
  const fd = unixSocket();
  try {
    withSockaddr(file, (a, len) => check("bind", c().bind(fd, a, len)));
    check("listen", c().listen(fd, backlog));
    return fd;
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

function intOpt(fd: number, level: number, name: number, size: number): Buffer {
  const m = scratch(size + 8);
  try {
    m.buf.writeUInt32LE(size, size);
    check("getsockopt", c().getsockopt(fd, level, name, m.addr, m.addr + BigInt(size)));
    return Buffer.from(m.buf.subarray(0, size));
  } finally {
    m.done();
  }
}

/** The connected unix peer's credentials (SO_PEERCRED: struct ucred). */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const b = intOpt(fd, SOL_SOCKET, SO_PEERCRED, 12);
  return { pid: b.readInt32LE(0), uid: b.readUInt32LE(4), gid: b.readUInt32LE(8) };
}

export const isListening = (fd: number): boolean => intOpt(fd, SOL_SOCKET, SO_ACCEPTCONN, 4).readInt32LE(0) === 1;

/** Lays out, in `m`, a msghdr with one iovec of `dataLen` bytes and room for one fd's cmsg, all after it. */
function msghdr(m: { addr: bigint; buf: Buffer }, dataLen: number): void {
  const iov = m.addr + BigInt(MSGHDR);
  const ctl = iov + BigInt(IOVEC);
  m.buf.writeBigUInt64LE(iov, 16); // msg_iov
  m.buf.writeBigUInt64LE(1n, 24); // msg_iovlen
  m.buf.writeBigUInt64LE(ctl, 32); // msg_control
  m.buf.writeBigUInt64LE(BigInt(CMSG_SPACE_FD), 40); // msg_controllen
  m.buf.writeBigUInt64LE(ctl + BigInt(CMSG_SPACE_FD), MSGHDR); // iov_base
  m.buf.writeBigUInt64LE(BigInt(dataLen), MSGHDR + 8); // iov_len
}

/** Sends `payload` and a copy of `passFd` over the connected unix socket `fd` (one sendmsg). */
export function sendFd(fd: number, passFd: number, payload: Buffer): void {
  if (payload.length === 0 || payload.length > MAX_PAYLOAD) throw new Error(`payload must be 1..${MAX_PAYLOAD} bytes`);
  const m = scratch(MSGHDR + IOVEC + CMSG_SPACE_FD + payload.length);
  try {
    msghdr(m, payload.length);
    const cm = MSGHDR + IOVEC;
    m.buf.writeBigUInt64LE(BigInt(CMSG_LEN_FD), cm);
    m.buf.writeInt32LE(SOL_SOCKET, cm + 8);
    m.buf.writeInt32LE(SCM_RIGHTS, cm + 12);
    m.buf.writeInt32LE(passFd, cm + CMSG_HDR);
    payload.copy(m.buf, cm + CMSG_SPACE_FD);
    const sent = check("sendmsg", c().sendmsg(fd, m.addr, MSG_NOSIGNAL));
    if (sent !== payload.length) throw new Error(`sendmsg sent ${sent} of ${payload.length} bytes`);
  } finally {
    m.done();
  }
}

/**
 * Connects to `file`, waits up to `timeoutMs` for one message, and returns its payload and the fd
 * passed with it (undefined if none; an fd of an unexpected kind is closed). Blocking: for start-up only.
 */
export function receiveFd(file: string, timeoutMs: number): { payload: Buffer; fd?: number } {
  const sock = unixSocket();
  const m = scratch(MSGHDR + IOVEC + CMSG_SPACE_FD + MAX_PAYLOAD + 16);
  try {
    withSockaddr(file, (a, len) => check("connect", c().connect(sock, a, len)));
    m.buf.writeBigInt64LE(BigInt(Math.floor(timeoutMs / 1000)), 0);
    m.buf.writeBigInt64LE(BigInt((timeoutMs % 1000) * 1000), 8);
    check("setsockopt", c().setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, m.addr, 16));
    m.buf.fill(0, 0, 16);
    msghdr(m, MAX_PAYLOAD + 1);
    const n = check("recvmsg", c().recvmsg(sock, m.addr, MSG_CMSG_CLOEXEC));
    const cm = MSGHDR + IOVEC;
    const payload = Buffer.from(m.buf.subarray(cm + CMSG_SPACE_FD, cm + CMSG_SPACE_FD + n));
    const controllen = Number(m.buf.readBigUInt64LE(40));
    const hasFd =
      controllen >= CMSG_LEN_FD &&
      Number(m.buf.readBigUInt64LE(cm)) === CMSG_LEN_FD &&
      m.buf.readInt32LE(cm + 8) === SOL_SOCKET &&
      m.buf.readInt32LE(cm + 12) === SCM_RIGHTS;
    return { payload, fd: hasFd ? m.buf.readInt32LE(cm + CMSG_HDR) : undefined };
  } finally {
    m.done();
    closeFd(sock);
  }
}
