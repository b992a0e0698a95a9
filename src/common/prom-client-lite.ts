// prom-client's index also loads the Pushgateway (https), the cluster aggregator (node:cluster) and
// Summary (tdigest): ~2 MiB of RSS in a node-wide daemon that uses none of them. The same classes,
// loaded one by one (a process that loads the index too shares them: same module instances).
import Counter from "prom-client/lib/counter.js";
import collectDefaultMetrics from "prom-client/lib/defaultMetrics.js";
import Gauge from "prom-client/lib/gauge.js";
import Histogram from "prom-client/lib/histogram.js";
import Registry from "prom-client/lib/registry.js";

export { Counter, Gauge, Histogram, Registry, collectDefaultMetrics };
