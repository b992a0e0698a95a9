// `npm run bench`: runs every benchmark module listed here and prints one table of ratios.
// Exit code 0 even when a target is missed: benches inform, tests gate.
import type { Bench, BenchResult } from "./harness.js";

const suites: Record<string, () => Promise<{ default: Bench }>> = {
  "quote helper": () => import("./quotehelper.bench.js"),
  "quote helper handover": () => import("./handover.bench.js"),
  "device plugin": () => import("./deviceplugin.bench.js"),
  "quote generation": () => import("./quote-generation.bench.js"),
  "quote verification": () => import("./verify.bench.js"),
  "attestation service": () => import("./attestation.bench.js"),
};

async function main() {
  const only = process.argv[2];
  const rows: BenchResult[] = [];
  for (const [name, load] of Object.entries(suites)) {
    if (only && !name.includes(only)) continue;
    process.stderr.write(`bench: ${name} ...\n`);
    rows.push(...(await (await load()).default()));
  }
  const header = ["benchmark", "ours", "baseline", "ratio", "target", "ok"];
  const lines = rows.map((r) => [r.name, r.measured, r.baseline, `${r.ratio.toFixed(2)}x`, r.target, r.pass ? "yes" : "NO"]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const print = (cols: string[]) => console.log(cols.map((c, i) => c.padEnd(widths[i])).join("  "));
  print(header);
  lines.forEach(print);
  for (const r of rows) if (r.notes) console.log(`- ${r.name}: ${r.notes}`);
}

void main();
