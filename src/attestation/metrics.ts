// The service's Prometheus metrics, on its own registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface AttestationMetrics {
  registry: Registry;
  tokens: Counter<"type" | "draft">;
  denials: Counter<"reason">;
  requests: Counter<"route" | "code">;
  verification: Histogram;
  collateralCache: Counter<"event">;
  policyReloads: Counter<"result">;
  signingKeys: Gauge;
  inFlight: Gauge;
}

export function createAttestationMetrics(registry = new Registry(), defaults = true): AttestationMetrics {
  const p = "confcom_attestation";
  if (defaults) collectDefaultMetrics({ register: registry, prefix: `${p}_` });
  return {
    registry,
    tokens: new Counter({ name: `${p}_tokens_issued_total`, help: "attestation tokens issued", labelNames: ["type", "draft"], registers: [registry] }),
    denials: new Counter({ name: `${p}_denials_total`, help: "attest requests refused, by reason", labelNames: ["reason"], registers: [registry] }),
    requests: new Counter({ name: `${p}_requests_total`, help: "HTTP requests by route and status code", labelNames: ["route", "code"], registers: [registry] }),
    verification: new Histogram({
      name: `${p}_verification_duration_seconds`,
      help: "quote verification time (QuoteVerifier), collateral already at hand",
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    collateralCache: new Counter({ name: `${p}_collateral_cache_total`, help: "collateral cache lookups: hit, miss, refresh, refresh-error", labelNames: ["event"], registers: [registry] }),
    policyReloads: new Counter({ name: `${p}_policy_reloads_total`, help: "policy reloads (SIGHUP) by result", labelNames: ["result"], registers: [registry] }),
    signingKeys: new Gauge({ name: `${p}_signing_keys`, help: "signing keys published in /certs", registers: [registry] }),
    inFlight: new Gauge({ name: `${p}_requests_in_flight`, help: "attest requests being processed", registers: [registry] }),
  };
}
