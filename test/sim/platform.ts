// A real simulated platform (C's `sim init` state) in a temporary directory, created once per test file.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { initPlatform } from "../../src/sim/platform/init.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";

const cache = new Map<string, Promise<SimPlatform>>();

export function testPlatform(seed = "confcom-qe3-tests"): Promise<SimPlatform> {
  let p = cache.get(seed);
  if (!p) cache.set(seed, (p = initPlatform(mkdtempSync(path.join(tmpdir(), "confcom-sim-")), { seed })));
  return p;
}
