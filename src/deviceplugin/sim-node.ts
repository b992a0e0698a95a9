// A simulated SGX node in a real cluster: the plugin writes this node's simulated CPU (from the cluster
// seed and the node name, so a restart reproduces it) into a host directory, keeps a current collateral
// file beside it, and every allocation mounts that directory read-only into the container with
// CONFCOM_SIM_STATE naming it. Enclave apps, the quote helper and relying parties on the node then share
// one simulated CPU and verify offline. The state is readable by everyone: simulated secrets are not secret.
import path from "node:path";
import type { Logger } from "../common/log.js";
import { COLLATERAL_RENEW_MS, renewCollateral, renewPeriodically, type Renewed } from "../sim/collateral/renew.js";
import { initPlatform } from "../sim/platform/init.js";
import { writeStateFile } from "../sim/platform/state-files.js";
import { SIM_STATE_CONTAINER_PATH, SIM_STATE_ENV } from "./sim-node-paths.js";

export interface SimNodeConfig {
  seed: string;
  nodeName: string;
  /** Host directory (seen at the same path by the plugin) under which <nodeName>/ is written. */
  stateRoot: string;
  epcMiB?: number;
  refreshMs?: number;
}

export interface AllocationExtras {
  mounts: { containerPath: string; hostPath: string; readOnly: boolean }[];
  envs: Record<string, string>;
}

export interface SimNode {
  readonly stateDir: string;
  readonly ppid: string;
  readonly extras: AllocationExtras;
  stop(): void;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const writeCollateral = (stateDir: string, r: Renewed) => writeStateFile(stateDir, "collateral", JSON.stringify(r.collateral, null, 2) + "\n");

export async function startSimNode(cfg: SimNodeConfig, log: Logger): Promise<SimNode> {
  if (!NODE_NAME.test(cfg.nodeName)) throw new Error(`node name "${cfg.nodeName.slice(0, 64)}" is not a DNS subdomain name; cannot name its simulated platform after it`);
  const stateDir = path.join(path.resolve(cfg.stateRoot), cfg.nodeName);
  const p = await initPlatform(stateDir, {
    seed: cfg.seed,
    nodeName: cfg.nodeName,
    readable: true,
    force: true,
    ...(cfg.epcMiB !== undefined ? { epcMiB: cfg.epcMiB } : {}),
  });
  const first = await renewCollateral(stateDir, false);
  await writeCollateral(stateDir, first);
  log.info({ stateDir, nodeName: cfg.nodeName, ppid: p.ppid.toString("hex"), collateralNextUpdate: first.nextUpdate }, "simulation: this node's simulated SGX platform is ready");
  const stop = renewPeriodically(stateDir, cfg.refreshMs ?? COLLATERAL_RENEW_MS, log, (r) => writeCollateral(stateDir, r));
  return {
    stateDir,
    ppid: p.ppid.toString("hex"),
    extras: {
      mounts: [{ containerPath: SIM_STATE_CONTAINER_PATH, hostPath: stateDir, readOnly: true }],
      envs: { [SIM_STATE_ENV]: SIM_STATE_CONTAINER_PATH },
    },
    stop,
  };
}
