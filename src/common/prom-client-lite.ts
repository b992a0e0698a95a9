// prom-client's index also loads the Pushgateway (https), the cluster aggregator (node:cluster), Summary
// (tdigest) and the default metrics (@opentelemetry/api): ~2 MiB of RSS in a node-wide daemon that uses
// none of them. The same classes, loaded one by one (a process that loads the index too shares them:
// same module instances); the daemons' process metrics are in process-metrics.ts.
import Counter from "prom-client/lib/counter.js";
import Gauge from "prom-client/lib/gauge.js";
import Histogram from "prom-client/lib/histogram.js";
import Registry from "prom-client/lib/registry.js";

export { Counter, Gauge, Histogram, Registry };
