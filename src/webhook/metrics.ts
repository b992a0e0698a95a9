import { Counter, Registry } from "prom-client";

export interface WebhookMetrics {
  registry: Registry;
  reviews: Counter<"endpoint" | "result">;
}

export function createWebhookMetrics(): WebhookMetrics {
  const registry = new Registry();
  const reviews = new Counter({
    name: "confcom_webhook_reviews_total",
    help: "AdmissionReviews answered, by endpoint and result (allowed, patched, denied, bad_request)",
    labelNames: ["endpoint", "result"] as const,
    registers: [registry],
  });
  return { registry, reviews };
}
