// `--simulate`: the simulated cluster's settings, and the one fact the manifests need that takes work to
// get, the root CA the seed gives (made by the same code every node runs, so it is byte-identical).
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CliError } from "../cli/errors.js";
import { DEFAULT_EPC_MIB } from "../sim/platform/init.js";
import type { AddonConfig, SimulationConfig } from "./config.js";

export { DEFAULT_EPC_MIB as DEFAULT_SIM_EPC_MIB };

export interface SimulationFlags {
  simulate?: boolean;
  simEpcMib?: number;
  simSeed?: string;
}

/** Flags that only mean something with --simulate. */
export function checkSimulationFlags(flags: SimulationFlags): void {
  if (flags.simulate) return;
  if (flags.simEpcMib !== undefined) throw new CliError("--sim-epc-mib needs --simulate", 2);
  if (flags.simSeed !== undefined) throw new CliError("--sim-seed needs --simulate", 2);
}

/** The root CA certificate (PEM) of the cluster `seed` gives. */
export async function simulatedRootCaPem(seed: string): Promise<string> {
  const { initPlatform } = await import("../sim/platform/init.js");
  const dir = await mkdtemp(path.join(os.tmpdir(), "confcom-sim-root-"));
  try {
    await initPlatform(path.join(dir, "p"), { seed, nodeName: "render" });
    return await readFile(path.join(dir, "p", "root-ca.pem"), "utf8");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function simulationConfig(seed: string | undefined, epcMiB: number | undefined): Promise<SimulationConfig> {
  if (seed !== undefined && seed.length === 0) throw new CliError("--sim-seed must not be empty", 2);
  if (epcMiB === 0) throw new CliError("--sim-epc-mib must be at least 1", 2);
  const s = seed ?? randomBytes(16).toString("hex");
  return { seed: s, epcMiB: epcMiB ?? DEFAULT_EPC_MIB, rootCaPem: await simulatedRootCaPem(s) };
}

/** `config` from flags, with its simulation filled in when --simulate was given. */
export async function withSimulation(config: AddonConfig, flags: SimulationFlags): Promise<AddonConfig> {
  checkSimulationFlags(flags);
  return flags.simulate ? { ...config, simulation: await simulationConfig(flags.simSeed, flags.simEpcMib) } : config;
}
