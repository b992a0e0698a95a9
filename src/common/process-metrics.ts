// A few process metrics for the node-wide daemons, read when scraped. Hand-written instead of
// prom-client's collectDefaultMetrics, which samples the event loop every 10 ms, observes every GC and
// loads @opentelemetry/api: 2.5-3 MiB of idle RSS (measured beside each daemon's floor in bench/) for
// figures an SGX node's operator never reads.
import { readdirSync } from "node:fs";
import { Counter, Gauge, type Registry } from "./prom-client-lite.js";

export function registerProcessMetrics(registry: Registry, prefix: string): void {
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  new Gauge({ name: `${prefix}process_start_time_seconds`, help: "Start time of the process since the Unix epoch in seconds", registers: [registry] }).set(startSeconds);
  new Counter({
    name: `${prefix}process_cpu_seconds_total`,
    help: "User and system CPU time spent in seconds",
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  new Gauge({
    name: `${prefix}process_resident_memory_bytes`,
    help: "Resident memory size in bytes",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: `${prefix}nodejs_heap_size_used_bytes`,
    help: "V8 heap in use in bytes",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: `${prefix}process_open_fds`,
    help: "Open file descriptors",
    registers: [registry],
    collect() {
      try {
        this.set(readdirSync("/proc/self/fd").length);
      } catch {
        // not Linux: leave it out
      }
    },
  });
}
