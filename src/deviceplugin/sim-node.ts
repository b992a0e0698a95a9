// A simulated SGX node in a real cluster: the plugin writes this node's simulated CPU (from the cluster
// seed and the node name, so a restart reproduces it) into a host directory, keeps a current collateral
// file beside it, and every allocation mounts that directory read-only into the container with
// CONFCOM_SIM_STATE naming it. Enclave apps, the quote helper and relying parties on the node then share
// one simulated CPU and verify offline. The state is readable by everyone: simulated secrets are not secret.
import path from "node:path";
import type { Logger } from "../common/log.js";
import { buildCollateral } from "../sim/collateral/build.js";
import { initPlatform } from "../sim/platform/init.js";
import { loadPlatformState } from "../sim/platform/load.js";
import { reissueCrls } from "../sim/platform/reissue.js";
import { writeStateFile } from "../sim/platform/state-files.js";
import { SIM_STATE_CONTAINER_PATH, SIM_STATE_ENV } from "./sim-node-paths.js";

/** The collateral's TCB Info is valid 30 days: rewritten daily, so relying parties always find it current. */
const COLLATERAL_REFRESH_MS = 24 * 3600_000;

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

async function writeCollateral(stateDir: string, reissue = false): Promise<string> {
  // CRLs are monthly: a refresh reissues them too, so the collateral built from them stays current.
  if (reissue) await reissueCrls(stateDir);
  const c = await buildCollateral(await loadPlatformState(stateDir));
  await writeStateFile(stateDir, "collateral", JSON.stringify(c, null, 2) + "\n");
  return (JSON.parse(c.tcb_info) as { nextUpdate?: string }).nextUpdate ?? "";
}

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
  const nextUpdate = await writeCollateral(stateDir);
  log.info({ stateDir, nodeName: cfg.nodeName, ppid: p.ppid.toString("hex"), collateralNextUpdate: nextUpdate }, "simulation: this node's simulated SGX platform is ready");
  const timer = setInterval(() => {
    writeCollateral(stateDir, true).then(
      (next) => log.info({ stateDir, nextUpdate: next }, "simulation: collateral refreshed"),
      (err: Error) => log.error({ err: err.message, stateDir }, "simulation: cannot refresh the collateral"),
    );
  }, cfg.refreshMs ?? COLLATERAL_REFRESH_MS);
  timer.unref();
  return {
    stateDir,
    ppid: p.ppid.toString("hex"),
    extras: {
      mounts: [{ containerPath: SIM_STATE_CONTAINER_PATH, hostPath: stateDir, readOnly: true }],
      envs: { [SIM_STATE_ENV]: SIM_STATE_CONTAINER_PATH },
    },
    stop: () => clearInterval(timer),
  };
}
