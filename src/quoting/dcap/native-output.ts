// Intel's libraries print plain-text lines through C stdio (se_trace: errors and warnings to stderr,
// notices to stdout), which would land in the middle of the JSON log. While a library call runs, libc's
// `stderr` and `stdout` FILE pointers point at pipes of ours instead, whose lines become structured log
// lines. Only the pointers move: fd 1 and 2 stay as they are, so pino and Node's own writes (and a fatal
// V8 message outside a call) go where they always go. Hand-written through koffi: Node has no pipe(2)
// or fdopen(3).
import net from "node:net";
import { StringDecoder } from "node:string_decoder";
import koffi from "koffi";
import type { Logger } from "../../common/log.js";

export type NativeStream = "stdout" | "stderr";

/** Longest line logged; the rest of a longer line is dropped. */
export const MAX_NATIVE_LINE = 2048;

export interface NativeOutput {
  /** Runs `call` with stdio redirected; the lines it printed are logged as they arrive. */
  around<T>(call: () => Promise<T>): Promise<T>;
}

const IOLBF = 1;

interface Libc {
  pipe(fds: number[]): number;
  fdopen(fd: number, mode: string): bigint;
  setvbuf(f: bigint, buf: null, mode: number, size: number): number;
  fflush(f: bigint): number;
  close(fd: number): number;
  stdioVar(name: NativeStream): bigint;
}

function libc(): Libc {
  const lib = koffi.load(null);
  const f = {
    pipe: lib.func("int pipe(_Out_ int *fds)"),
    fdopen: lib.func("void *fdopen(int fd, const char *mode)"),
    setvbuf: lib.func("int setvbuf(void *f, void *buf, int mode, size_t size)"),
    fflush: lib.func("int fflush(void *f)"),
    close: lib.func("int close(int fd)"),
  };
  return { ...(f as unknown as Omit<Libc, "stdioVar">), stdioVar: (name) => lib.symbol(name) as bigint };
}

/** Splits a byte stream into lines of at most MAX_NATIVE_LINE characters, dropping the excess. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let dropping = false;
  return (chunk) => {
    const parts = decoder.write(chunk).split("\n");
    parts.forEach((part, i) => {
      if (!dropping) {
        pending += part;
        if (pending.length > MAX_NATIVE_LINE) {
          onLine(`${pending.slice(0, MAX_NATIVE_LINE)}…`);
          pending = "";
          dropping = true;
        }
      }
      if (i === parts.length - 1) return;
      if (!dropping && pending.trim() !== "") onLine(pending.trimEnd());
      pending = "";
      dropping = false;
    });
  };
}

/** stderr lines that read as failures are errors, the rest warnings; stdout carries Intel's notices. */
export function nativeLineLevel(stream: NativeStream, line: string): "error" | "warn" | "info" {
  if (stream === "stdout") return "info";
  return /\b(error|fail(?:ed|ure)?|unable)\b/i.test(line) ? "error" : "warn";
}

let instance: NativeOutput | undefined;

/** The process's one capture (the pointers are process-wide); the first logger given is the one used. */
export function captureNativeOutput(log: Logger, source: string): NativeOutput {
  if (instance) return instance;
  const c = libc();
  const streams = (["stdout", "stderr"] as const).map((name) => {
    const fds = [0, 0];
    if (c.pipe(fds) !== 0) throw new Error("pipe() failed");
    const file = c.fdopen(fds[1]!, "w");
    c.setvbuf(file, null, IOLBF, 0);
    const reader = new net.Socket({ fd: fds[0]!, readable: true, writable: false });
    reader.unref();
    reader.on("data", lineSplitter((line) => log[nativeLineLevel(name, line)]({ source, stream: name }, line)));
    reader.on("error", () => undefined);
    return { variable: c.stdioVar(name), file };
  });
  instance = {
    async around(call) {
      const saved = streams.map((s) => koffi.decode(s.variable, "uintptr_t") as bigint);
      streams.forEach((s) => koffi.encode(s.variable, "uintptr_t", s.file));
      try {
        return await call();
      } finally {
        streams.forEach((s, i) => {
          c.fflush(s.file);
          koffi.encode(s.variable, "uintptr_t", saved[i]!);
        });
      }
    },
  };
  return instance;
}
