// V8 options the add-on runs its node-wide daemons with (as NODE_OPTIONS), and the benches and soak tests
// measure them with. A 1 MiB young generation instead of V8's default 16 MiB keeps an idle daemon about
// 7 MiB smaller on every SGX node. A 64 MiB old generation (the device plugin's live heap is ~12 MiB after
// a major GC, measured over 20,000 allocations and 80 kubelet restarts) makes V8 collect before RSS
// drifts upwards: without it, V8 defers major GCs and RSS grows by ~2 MiB per 1,000 allocations of garbage.
export const DAEMON_NODE_OPTIONS = ["--max-semi-space-size=1", "--max-old-space-size=64"];
