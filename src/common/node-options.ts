// V8 options the add-on runs its node-wide daemons with (as NODE_OPTIONS), and the benches and soak tests
// measure them with. A 1 MiB young generation instead of V8's default 16 MiB keeps an idle daemon about
// 7 MiB smaller on every SGX node. A 64 MiB old generation (the device plugin's live heap is ~12 MiB after
// a major GC, measured over 20,000 allocations and 80 kubelet restarts) makes V8 collect before RSS
// drifts upwards: without it, V8 defers major GCs and RSS grows by ~2 MiB per 1,000 allocations of garbage.
export const DAEMON_NODE_OPTIONS = v8HeapOptions({ semiSpaceMiB: 1, oldSpaceMiB: 64 });

// The admission webhook (limit 192 Mi): half the limit for the old generation, so that V8 collects, and a
// request over its limits is refused, well before the kernel's OOM killer; a 2 MiB semi-space for bursts of
// AdmissionReviews. Node itself, TLS and the in-flight bodies live outside the V8 heap.
export const WEBHOOK_NODE_OPTIONS = v8HeapOptions({ semiSpaceMiB: 2, oldSpaceMiB: 96 });

export function v8HeapOptions(o: { semiSpaceMiB: number; oldSpaceMiB: number }): string[] {
  return [`--max-semi-space-size=${o.semiSpaceMiB}`, `--max-old-space-size=${o.oldSpaceMiB}`];
}
