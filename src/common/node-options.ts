// V8 options the add-on runs its node-wide daemons with (as NODE_OPTIONS), and the benches measure them
// with. A 1 MiB young generation instead of V8's default 16 MiB keeps an idle daemon about 7 MiB smaller
// on every SGX node; the cost is more frequent scavenges, which are cheap at these daemons' request rates.
export const DAEMON_NODE_OPTIONS = ["--max-semi-space-size=1"];
