import { Counter, Registry } from "prom-client";

export interface WebhookMetrics {
  registry: Registry;
  reviews: Counter<"endpoint" | "result">;
  shed: Counter<"reason">;
}

export function createWebhookMetrics(): WebhookMetrics {
  const registry = new Registry();
  const reviews = new Counter({
    name: "confcom_webhook_reviews_total",
    help: "AdmissionReviews answered, by endpoint and result (allowed, patched, denied, bad_request)",
    labelNames: ["endpoint", "result"] as const,
    registers: [registry],
  });
  const shed = new Counter({
    name: "confcom_webhook_connections_shed_total",
    help: "Connections closed at the connection cap: the oldest idle one evicted, or the new one refused when all are busy",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  return { registry, reviews, shed };
}
