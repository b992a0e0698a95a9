// Intel's libsgx_dcap_ql loaded into this process through koffi: the sgx_qe_* calls of
// sgx_dcap_ql_wrapper.h, each run on a koffi worker thread so a slow QE load never blocks the event loop.
// Callers own the buffers and their sizes, and must not overlap calls (the library is not thread-safe).
//
// A library is loaded once per process and path, and never unloaded: unloading would run Intel's global
// destructors (which destroy the QE and PCE and drop the attestation key) and leave urts's process-wide
// signal handlers pointing at unmapped code.
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import koffi from "koffi";
import { DEFAULT_DCAP_QL_LIBRARY } from "./library-path.js";

export { DEFAULT_DCAP_QL_LIBRARY };

/** sgx_ql_request_policy_t (sgx_pce.h). */
export enum EnclaveLoadPolicy {
  PERSISTENT = 0,
  EPHEMERAL = 1,
}

/** sgx_ql_path_type_t (sgx_dcap_ql_wrapper.h): the files sgx_ql_set_path can point at. */
export enum QlPathType {
  QE3 = 0,
  PCE = 1,
  QPL = 2,
  IDE = 3,
}

export class DcapLibraryNotFoundError extends Error {
  constructor(
    readonly libraryPath: string,
    readonly reason: string,
    /** The dependency the dynamic loader could not find, when it was one (not the library itself). */
    readonly missingDependency?: string,
    /** Directories looked in for that dependency, beyond the loader's own search path. */
    readonly searched: readonly string[] = [],
  ) {
    super(
      missingDependency
        ? `Intel DCAP quote library ${libraryPath} cannot be loaded: its dependency ${missingDependency} was not found ` +
            `(not on the dynamic loader's search path${searched.length ? ` nor in ${searched.join(", ")}` : ""}); ` +
            `install the package that ships it, or put its directory on LD_LIBRARY_PATH before the process starts, or in the dependency search path`
        : `Intel DCAP quote library not found (${libraryPath}: ${reason})`,
    );
    this.name = "DcapLibraryNotFoundError";
  }
}

/** Each call resolves to the quote3_error_t it returned; buffers are written in place. */
export interface DcapQlLibrary {
  readonly path: string;
  /** The file the loader mapped (from /proc/self/maps), e.g. /usr/lib/x86_64-linux-gnu/libsgx_dcap_ql.so.1.23.100.0. */
  readonly file: string | undefined;
  setEnclaveLoadPolicy(policy: EnclaveLoadPolicy): Promise<number>;
  /** `targetInfo`: 512 bytes (sgx_target_info_t). */
  getTargetInfo(targetInfo: Buffer): Promise<number>;
  getQuoteSize(quoteSize: Uint32Array): Promise<number>;
  /** `report`: 432 bytes (sgx_report_t); `quote`: at least `quoteSize` bytes. */
  getQuote(report: Buffer, quoteSize: number, quote: Buffer): Promise<number>;
  /** sgx_ql_set_path, or undefined when the library does not export it (DCAP before 1.6). */
  setPath?(type: QlPathType, file: string): Promise<number>;
  /**
   * Routes the library's own trace lines (se_trace: level 1 error .. 4 debug) to `sink`, where it exports
   * sgx_trace_logger_callback, and sets its sgx_trace_loglevel where exported. Returns what it could hook.
   */
  hookTrace(sink: (level: number, message: string) => void, level?: number): { callback: boolean; level: boolean };
}

// C types are spelled as bytes here: the structs are opaque to this layer, sized by the caller.
const PROTOTYPES = {
  setEnclaveLoadPolicy: "uint32_t sgx_qe_set_enclave_load_policy(int policy)",
  getTargetInfo: "uint32_t sgx_qe_get_target_info(_Out_ uint8_t *p_qe_target_info)",
  getQuoteSize: "uint32_t sgx_qe_get_quote_size(_Out_ uint32_t *p_quote_size)",
  getQuote: "uint32_t sgx_qe_get_quote(const uint8_t *p_app_report, uint32_t quote_size, _Out_ uint8_t *p_quote)",
  setPath: "uint32_t sgx_ql_set_path(int path_type, const char *p_path)",
} as const;

// se_trace.h: typedef void (*sgx_logging_callback_t)(int level, const char* message).
const TraceCallback = koffi.proto("void sgx_logging_callback_t(int level, const char *message)");

type AsyncNative = { async: (...args: unknown[]) => void };
type Handle = ReturnType<typeof koffi.load>;

function callAsync(fn: AsyncNative, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: number) => (err ? reject(err) : resolve(result)));
  });
}

// Process-wide and never released (see the header comment): loaded libraries by path, the dependencies
// preloaded for them, and the registered trace callback.
const loaded = new Map<string, DcapQlLibrary>();
const pinned: unknown[] = [];

const MISSING = /(?:^|: )([^\s:]+): cannot open shared object file/;
const MAX_DEPENDENCY_DEPTH = 16;

/**
 * dlopen with the dependency search Intel's build lacks (it sets no RUNPATH): a dependency the loader
 * cannot find is looked for in the library's own directory and then in `searchPath`, and loaded from
 * there first; the loader then matches it by soname.
 */
function open(libraryPath: string, searchPath: readonly string[], depth = 0): Handle {
  const dirs = [...(libraryPath.includes("/") ? [path.dirname(path.resolve(libraryPath))] : []), ...searchPath];
  for (;;) {
    let reason: string;
    try {
      return koffi.load(libraryPath);
    } catch (e) {
      reason = (e instanceof Error ? e.message : String(e)).replace(/^Failed to load shared library: /, "");
    }
    const missing = MISSING.exec(reason)?.[1];
    if (!missing || missing === libraryPath || depth >= MAX_DEPENDENCY_DEPTH) throw new DcapLibraryNotFoundError(libraryPath, reason);
    const candidate = dirs.map((d) => path.join(d, missing)).find((f) => existsSync(f));
    if (!candidate) throw new DcapLibraryNotFoundError(libraryPath, reason, missing, dirs);
    try {
      pinned.push(open(candidate, searchPath, depth + 1));
    } catch (e) {
      if (e instanceof DcapLibraryNotFoundError && e.missingDependency) throw new DcapLibraryNotFoundError(libraryPath, e.reason, e.missingDependency, dirs);
      throw e;
    }
  }
}

/** The mapped file whose path is `libraryPath`'s target, or whose name starts with its soname. */
function mappedFile(libraryPath: string): string | undefined {
  let maps: string;
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {
    return undefined;
  }
  const files = maps.split("\n").map((l) => l.slice(l.indexOf("/")).trim()).filter((f) => f.startsWith("/"));
  if (libraryPath.includes("/")) {
    const abs = path.resolve(libraryPath);
    return files.find((f) => f === abs) ?? files.find((f) => path.basename(f).startsWith(path.basename(abs)));
  }
  return files.find((f) => path.basename(f).startsWith(libraryPath));
}

function optionalSymbol(lib: Handle, name: string): bigint | undefined {
  try {
    return lib.symbol(name) as bigint;
  } catch {
    return undefined;
  }
}

/**
 * Loads the library once for this process (throws DcapLibraryNotFoundError when it cannot) and binds its
 * calls. `searchPath`: directories to look in for dependencies the dynamic loader cannot find.
 */
export function loadDcapQlLibrary(libraryPath: string = DEFAULT_DCAP_QL_LIBRARY, options: { searchPath?: readonly string[] } = {}): DcapQlLibrary {
  const known = loaded.get(libraryPath);
  if (known) return known;
  const lib = open(libraryPath, options.searchPath ?? []);
  const bind = (prototype: string): AsyncNative => {
    try {
      return lib.func(prototype) as AsyncNative;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new DcapLibraryNotFoundError(libraryPath, `not an Intel DCAP quote library: ${reason}`);
    }
  };
  const fns = {
    setEnclaveLoadPolicy: bind(PROTOTYPES.setEnclaveLoadPolicy),
    getTargetInfo: bind(PROTOTYPES.getTargetInfo),
    getQuoteSize: bind(PROTOTYPES.getQuoteSize),
    getQuote: bind(PROTOTYPES.getQuote),
  };
  const setPath = optionalSymbol(lib, "sgx_ql_set_path") === undefined ? undefined : bind(PROTOTYPES.setPath);
  let traceCallback: bigint | undefined;
  const library: DcapQlLibrary = {
    path: libraryPath,
    file: mappedFile(libraryPath),
    setEnclaveLoadPolicy: (policy) => callAsync(fns.setEnclaveLoadPolicy, policy),
    getTargetInfo: (targetInfo) => callAsync(fns.getTargetInfo, targetInfo),
    getQuoteSize: (quoteSize) => callAsync(fns.getQuoteSize, quoteSize),
    getQuote: (report, quoteSize, quote) => callAsync(fns.getQuote, report, quoteSize, quote),
    ...(setPath && { setPath: (type: QlPathType, file: string) => callAsync(setPath, type, file) }),
    hookTrace(sink, level) {
      const callbackVar = optionalSymbol(lib, "sgx_trace_logger_callback");
      const levelVar = optionalSymbol(lib, "sgx_trace_loglevel");
      if (callbackVar !== undefined) {
        // Called on the thread making the library call; koffi runs it on the event loop meanwhile.
        traceCallback ??= koffi.register((l: number, m: string | null) => sink(l, m ?? ""), koffi.pointer(TraceCallback)) as bigint;
        koffi.encode(callbackVar, "uintptr_t", traceCallback);
      }
      if (levelVar !== undefined && level !== undefined) koffi.encode(levelVar, "int", level);
      return { callback: callbackVar !== undefined, level: levelVar !== undefined && level !== undefined };
    },
  };
  pinned.push(lib);
  loaded.set(libraryPath, library);
  return library;
}
