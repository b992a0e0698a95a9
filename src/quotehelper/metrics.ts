// The quote helper's Prometheus metrics, on its own registry.
import { registerProcessMetrics } from "../common/process-metrics.js";
import { Counter, Gauge, Histogram, Registry } from "../common/prom-client-lite.js";

export interface QuoteHelperMetrics {
  registry: Registry;
  requests: Counter<"type" | "result">;
  latency: Histogram<"type">;
  inFlight: Gauge;
  dropped: Counter<"reason">;
}

export interface MetricsSources {
  queueDepth(): number;
  connections(): number;
  /** Quoting worker threads running, for a backend that has them. */
  workers?(): number;
}

export function createMetrics(sources: MetricsSources): QuoteHelperMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry, "confcom_quotehelper_");
  const requests = new Counter({
    name: "confcom_quotehelper_requests_total",
    help: "AESM requests by type and result (the AESM error code name; 'closed' for unparseable frames)",
    labelNames: ["type", "result"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "confcom_quotehelper_request_duration_seconds",
    help: "Time from a complete request frame to its response, by request type",
    labelNames: ["type"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const inFlight = new Gauge({ name: "confcom_quotehelper_requests_in_flight", help: "Requests being handled", registers: [registry] });
  new Gauge({
    name: "confcom_quotehelper_queue_depth",
    help: "Quote operations waiting for a free worker",
    registers: [registry],
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: "confcom_quotehelper_connections",
    help: "Open client connections",
    registers: [registry],
    collect() {
      this.set(sources.connections());
    },
  });
  if (sources.workers) {
    new Gauge({
      name: "confcom_quotehelper_quoting_workers",
      help: "Quoting worker threads running (started by requests, retired after --worker-idle-ms without work)",
      registers: [registry],
      collect() {
        this.set(sources.workers!());
      },
    });
  }
  const dropped = new Counter({
    name: "confcom_quotehelper_connections_dropped_total",
    help: "Connections closed without (all of) an answer, by reason: evicted-idle, refused-at-limit, shed-slow-reader, write-timeout, timeout, truncated, too-large, socket-error",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  return { registry, requests, latency, inFlight, dropped };
}
