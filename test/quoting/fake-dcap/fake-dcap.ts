// Builds test/quoting/fake-dcap/fake_dcap_ql.c into a temporary shared library and binds its test
// controls. The library's state is per process (dlopen returns one handle per path), so tests reset it.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import koffi from "koffi";
import { repoRoot } from "../../support/paths.js";

export const FAKE_DCAP_SOURCE = path.join(repoRoot, "test/quoting/fake-dcap/fake_dcap_ql.c");

/** The fake's fixed behaviour, mirrored from fake_dcap_ql.c. */
export const FAKE = {
  defaultQuoteSize: 1100,
  reportOffset: 8,
  ecdsaIdOffset: 884,
  fillByte: 0xcc,
  targetInfo: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7 + 3) & 0xff)),
  ecdsaId: Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i)),
} as const;

export interface FakeDcap {
  readonly libraryPath: string;
  /** A dev root with dev/sgx_enclave and dev/sgx_provision (symlinks to /dev/null); this process's fake uses it. */
  readonly devRoot: string;
  /** The environment a child process needs for its fake to find that dev root (read when loaded). */
  readonly env: Record<string, string>;
  setDevRoot(dir: string): void;
  outOfProc(): boolean;
  /** What sgx_ql_set_path stored for a path type ("" when nothing). */
  path(type: number): string;
  reset(): void;
  setQuoteSize(size: number): void;
  failNext(quote3Error: number): void;
  setDelayUs(us: number): void;
  holdNext(): void;
  release(): void;
  overlaps(): number;
  calls(): number;
  loadPolicy(): number;
  remove(): void;
}

export function buildFakeDcap(): FakeDcap {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fake-dcap-"));
  const libraryPath = path.join(dir, "libsgx_dcap_ql.so.1");
  execFileSync("cc", ["-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror", "-o", libraryPath, FAKE_DCAP_SOURCE]);
  const devRoot = makeDevRoot(path.join(dir, "devroot"));
  const lib = koffi.load(libraryPath);
  const setQuoteSize = lib.func("int fake_dcap_set_quote_size(uint32_t size)");
  const fns = {
    reset: lib.func("void fake_dcap_reset(void)"),
    failNext: lib.func("void fake_dcap_fail_next(uint32_t code)"),
    setDelayUs: lib.func("void fake_dcap_set_delay_us(uint32_t us)"),
    holdNext: lib.func("void fake_dcap_hold_next(void)"),
    release: lib.func("void fake_dcap_release(void)"),
    overlaps: lib.func("uint32_t fake_dcap_overlaps(void)"),
    calls: lib.func("uint32_t fake_dcap_calls(void)"),
    loadPolicy: lib.func("int32_t fake_dcap_load_policy(void)"),
    setDevRoot: lib.func("void fake_dcap_set_dev_root(const char *root)"),
    outOfProc: lib.func("int32_t fake_dcap_out_of_proc(void)"),
    path: lib.func("const char *fake_dcap_path(int32_t type)"),
  };
  fns.setDevRoot(devRoot);
  // Children spawned with this process's environment (the quote helper in tests) find it too.
  process.env.FAKE_DCAP_DEV_ROOT = devRoot;
  return {
    libraryPath,
    devRoot,
    env: { FAKE_DCAP_DEV_ROOT: devRoot },
    setDevRoot: (d) => fns.setDevRoot(d),
    outOfProc: () => fns.outOfProc() !== 0,
    path: (type) => fns.path(type) as string,
    reset: () => fns.reset(),
    setQuoteSize: (size) => {
      if (setQuoteSize(size) !== 1) throw new Error(`fake DCAP library refused quote size ${size}`);
    },
    failNext: (code) => fns.failNext(code),
    setDelayUs: (us) => fns.setDelayUs(us),
    holdNext: () => fns.holdNext(),
    release: () => fns.release(),
    overlaps: () => fns.overlaps() as number,
    calls: () => fns.calls() as number,
    loadPolicy: () => fns.loadPolicy() as number,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `dir` with dev/sgx_enclave and dev/sgx_provision as symlinks to /dev/null: openable read-write, harmless. */
export function makeDevRoot(dir: string, nodes: readonly string[] = ["sgx_enclave", "sgx_provision"]): string {
  mkdirSync(path.join(dir, "dev"), { recursive: true });
  for (const n of nodes) symlinkSync("/dev/null", path.join(dir, "dev", n));
  return dir;
}

/**
 * The fake built to need a dependency, libsgx_qe3_logic.so (as Intel's libsgx_dcap_ql does, with no
 * RUNPATH), kept in another directory: `dir`/lib/libsgx_dcap_ql.so.1 and `dir`/deps/libsgx_qe3_logic.so.
 */
export function buildFakeDcapWithDependency(dir: string): { libraryPath: string; dependency: string; depDir: string } {
  const depDir = path.join(dir, "deps");
  const libDir = path.join(dir, "lib");
  mkdirSync(depDir, { recursive: true });
  mkdirSync(libDir, { recursive: true });
  const source = path.join(dir, "qe3_logic.c");
  writeFileSync(source, "int fake_qe3_logic_present(void) { return 1; }\n");
  const dependency = path.join(depDir, "libsgx_qe3_logic.so");
  execFileSync("cc", ["-shared", "-fPIC", "-o", dependency, "-Wl,-soname,libsgx_qe3_logic.so", source]);
  const libraryPath = path.join(libDir, "libsgx_dcap_ql.so.1");
  execFileSync("cc", ["-shared", "-fPIC", "-o", libraryPath, FAKE_DCAP_SOURCE, `-L${depDir}`, "-Wl,--no-as-needed", "-l:libsgx_qe3_logic.so"]);
  return { libraryPath, dependency, depDir };
}
