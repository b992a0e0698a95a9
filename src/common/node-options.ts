// V8 options and malloc tunables the add-on runs its node-wide daemons with (as NODE_OPTIONS and
// GLIBC_TUNABLES), and the benches and soak tests measure them with.
// - A 1 MiB young generation instead of V8's default 16 MiB keeps an idle daemon about 7 MiB smaller on
//   every SGX node.
// - A 64 MiB old generation (the device plugin's live heap is ~12 MiB after a major GC, measured over
//   20,000 allocations and 80 kubelet restarts) makes V8 collect before RSS drifts upwards: without it,
//   V8 defers major GCs and RSS grows by ~2 MiB per 1,000 allocations of garbage.
// Only options Node accepts in NODE_OPTIONS belong here; the others are DAEMON_NODE_FLAGS.
export const DAEMON_NODE_OPTIONS = v8HeapOptions({ semiSpaceMiB: 1, oldSpaceMiB: 64 });

// V8 flags Node refuses in NODE_OPTIONS (a daemon given them there would not start), so they go on node's
// command line: the image's entrypoint puts what NODE_FLAGS_ENV holds there, and the DaemonSets set it.
// - --no-concurrent-recompilation: optimising compiles run on the thread that asked for them instead of
//   V8's compiler threads, whose malloc arenas an idle daemon keeps: 2-3 MiB less idle RSS in each
//   daemon (its floor loses ~1 MiB). The daemons optimise little code, on their hot paths once.
export const DAEMON_NODE_FLAGS = ["--no-concurrent-recompilation"];
export const NODE_FLAGS_ENV = "CONFCOM_NODE_FLAGS";

/** node's options before the script, as the DaemonSets run a daemon (for benches and soak tests). */
export const DAEMON_NODE_ARGS = [...DAEMON_NODE_OPTIONS, ...DAEMON_NODE_FLAGS];

// The admission webhook (limit 192 Mi): half the limit for the old generation, so that V8 collects, and a
// request over its limits is refused, well before the kernel's OOM killer; a 2 MiB semi-space for bursts of
// AdmissionReviews. Node itself, TLS and the in-flight bodies live outside the V8 heap.
export const WEBHOOK_NODE_OPTIONS = v8HeapOptions({ semiSpaceMiB: 2, oldSpaceMiB: 96 });

export function v8HeapOptions(o: { semiSpaceMiB: number; oldSpaceMiB: number }): string[] {
  return [`--max-semi-space-size=${o.semiSpaceMiB}`, `--max-old-space-size=${o.oldSpaceMiB}`];
}

// glibc's trim and mmap thresholds start at 128 KiB, but once a large mmapped block is freed (a start-up
// file read, the device plugin's 3.3 MB snapshot) glibc raises both, up to 32 and 64 MiB, and from then on
// keeps freed memory instead of returning it. Setting the trim threshold fixes both at 128 KiB: an idle
// daemon 1-3 MiB smaller (what a retired quoting worker's arena held is mostly given back).
const FIXED_MALLOC_THRESHOLDS = "glibc.malloc.trim_threshold=131072";

/** Env of the node-wide daemons with worker threads (the quote helper) and of its socket keeper. */
export const DAEMON_ENV = { GLIBC_TUNABLES: FIXED_MALLOC_THRESHOLDS } as const;

/**
 * Env of a node-wide daemon without worker threads (the device plugin): also one malloc arena. glibc
 * otherwise gives each libuv pool thread that allocates (the fs calls of the plugin's polls) an arena of
 * its own that keeps what was freed in it: one arena returns ~2 MiB of idle RSS. Not for the quote
 * helper, whose quoting workers would share it and whose retired worker's leftovers would stay mixed into
 * the main arena.
 */
export const SINGLE_ARENA_DAEMON_ENV = { GLIBC_TUNABLES: `${FIXED_MALLOC_THRESHOLDS}:glibc.malloc.arena_max=1` } as const;
